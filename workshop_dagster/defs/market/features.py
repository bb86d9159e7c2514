"""The market's SQL models (`dbt_like_sql/models/`, group market): per-ticker features and the
regime label, each with its schema.yml tests as a blocking check."""

from ...lib.per_cycle import PARTITIONS
from ...lib.sql_models import load_sql_assets

market_models = load_sql_assets(PARTITIONS, group="market")
