"""Workshop: an autonomous, self-scoring market-analysis loop orchestrated by Dagster."""

import warnings

# Single-run backfill policies and partitioned asset checks are the documented way to do what
# this project does; Dagster's beta/preview labels on them are not news to the people running it.
warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
