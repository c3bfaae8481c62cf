"""What a fitted model says: decompositions, elasticities, response curves, bootstrap intervals."""
