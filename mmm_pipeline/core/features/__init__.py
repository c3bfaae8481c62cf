"""Feature engineering: from the tidy modelling table to the arrays the model trains on."""
