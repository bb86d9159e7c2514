"""Market data: universe, trading calendar, as-of rule and the three sources (no Dagster here)."""
