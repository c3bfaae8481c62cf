"""Out-of-sample metrics, baselines and residual diagnostics."""
