"""Planning: the risk-aware budget optimizer and scenarios."""
