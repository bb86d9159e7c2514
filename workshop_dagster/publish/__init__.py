"""Publishing: posts in the seeds' layout and the static scoreboard site (no Dagster here)."""
