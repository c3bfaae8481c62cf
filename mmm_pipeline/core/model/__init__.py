"""The constrained, hierarchical Neural Additive Model and its shape-function families."""
