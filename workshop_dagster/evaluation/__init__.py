"""Walk-forward evaluation of the loop: metrics, baselines, the leak audit and the report."""
