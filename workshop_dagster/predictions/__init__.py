"""Predictions: the tag parser, the trading-day horizon, scoring and the fact check (no Dagster)."""
