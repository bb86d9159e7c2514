"""Workshop: an autonomous, self-scoring market-analysis loop orchestrated by Dagster."""
