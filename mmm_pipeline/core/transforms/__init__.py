"""Media transforms: adstock (carry-over) and saturation (diminishing returns), batched in torch."""
