"""The three analyst minds, their debate and the synthesis memo (no Dagster here)."""
