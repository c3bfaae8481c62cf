"""Training: losses, the batched trainer, walk-forward splits and the tuning objective."""
