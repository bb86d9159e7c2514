"""Loads `dbt_like_sql/` as Dagster assets: one SQL model a file, lineage from `{{ ref() }}`.

A model file starts with `{{ config(...) }}` (partitioned, group, description) and reads other
tables through `{{ ref('name') }}`. A partitioned model is computed for the run's cycle window:
each ref becomes that window's slice of the upstream table, and the window's rows are replaced in
one transaction. Tests declared in `dbt_like_sql/schema.yml` (not_null, accepted_values, a unique
key) run after the write and are reported as blocking asset checks.
"""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from .settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "dbt_like_sql"
CONFIG_RE = re.compile(r"\{\{\s*config\((?P<args>.*?)\)\s*\}\}", re.S)
REF_RE = re.compile(r"\{\{\s*ref\(\s*['\"](?P<name>\w+)['\"]\s*\)\s*\}\}")
PARTITION_COLUMN = "cycle_ts"


@dataclass(frozen=True)
class SqlModel:
    name: str
    path: Path
    sql: str
    refs: tuple[str, ...]
    partitioned: bool
    group: str
    description: str
    tests: dict = field(default_factory=dict, hash=False, compare=False)

    def render(self, window: tuple[pd.Timestamp, pd.Timestamp] | None, schema: str = "main") -> str:
        """The model's SELECT with refs resolved (to the window's slice when partitioned)."""

        def table(match: re.Match) -> str:
            name = match.group("name")
            if window is None:
                return f"{schema}.{name}"
            start, end = (t.strftime("%Y-%m-%d %H:%M:%S") for t in window)
            return (
                f"(select * from {schema}.{name} where {PARTITION_COLUMN} >= TIMESTAMP '{start}'"
                f" and {PARTITION_COLUMN} < TIMESTAMP '{end}')"
            )

        return REF_RE.sub(table, CONFIG_RE.sub("", self.sql)).strip()


def _parse_config(sql: str, path: Path) -> dict:
    match = CONFIG_RE.search(sql)
    if not match:
        return {}
    call = ast.parse(f"f({match.group('args')})", mode="eval").body
    names = {"true": True, "false": False}
    out = {}
    for kw in call.keywords:  # type: ignore[attr-defined]
        node = kw.value
        if isinstance(node, ast.Name) and node.id in names:
            out[kw.arg] = names[node.id]
        else:
            try:
                out[kw.arg] = ast.literal_eval(node)
            except ValueError as exc:
                raise ValueError(f"{path}: config({kw.arg}=...) must be a literal") from exc
    return out


def discover_models(sql_dir: Path = SQL_DIR) -> list[SqlModel]:
    schema_path = sql_dir / "schema.yml"
    schema = yaml.safe_load(schema_path.read_text()) if schema_path.exists() else {}
    tests = {m["name"]: m for m in (schema or {}).get("models", [])}
    models = []
    for path in sorted((sql_dir / "models").glob("*.sql")):
        sql = path.read_text()
        config = _parse_config(sql, path)
        models.append(
            SqlModel(
                name=path.stem,
                path=path,
                sql=sql,
                refs=tuple(dict.fromkeys(m.group("name") for m in REF_RE.finditer(sql))),
                partitioned=bool(config.get("partitioned", False)),
                group=config.get("group", "sql"),
                description=config.get("description", f"SQL model {path.stem}"),
                tests=tests.get(path.stem, {}),
            )
        )
    return models


def test_queries(model: SqlModel, relation: str) -> list[tuple[str, str]]:
    """(test name, SQL counting failing rows) for the model's schema.yml tests."""
    queries = []
    unique = model.tests.get("unique")
    if unique:
        cols = ", ".join(unique)
        queries.append(
            (
                f"unique({cols})",
                f"select count(*) from (select {cols} from {relation} group by {cols} "
                "having count(*) > 1)",
            )
        )
    for column in model.tests.get("columns", []):
        name = column["name"]
        for test in column.get("tests", []):
            if test == "not_null":
                queries.append(
                    (f"not_null({name})", f"select count(*) from {relation} where {name} is null")
                )
            elif isinstance(test, dict) and "accepted_values" in test:
                values = ", ".join(f"'{v}'" for v in test["accepted_values"])
                queries.append(
                    (
                        f"accepted_values({name})",
                        f"select count(*) from {relation} where {name} not in ({values})",
                    )
                )
            else:
                raise ValueError(f"{model.name}: unknown test {test!r} on {name}")
    return queries


def _naive_window(context: dg.AssetExecutionContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    window = context.partition_time_window
    return tuple(pd.Timestamp(t).tz_convert("America/New_York").tz_localize(None) for t in window)


def build_sql_asset(model: SqlModel, partitions_def: dg.PartitionsDefinition | None):
    check_name = f"{model.name}_tests"
    partitioned = model.partitioned and partitions_def is not None

    @dg.asset(
        name=model.name,
        group_name=model.group,
        description=model.description,
        deps=[dg.AssetKey(r) for r in model.refs],
        partitions_def=partitions_def if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        metadata={
            "partition_expr": PARTITION_COLUMN,
            "sql_path": str(model.path.relative_to(PROJECT_ROOT)),
        }
        if partitioned
        else {"sql_path": str(model.path.relative_to(PROJECT_ROOT))},
        kinds={"duckdb", "sql"},
        check_specs=[
            dg.AssetCheckSpec(
                check_name, asset=model.name, blocking=True, description="schema.yml tests"
            )
        ]
        if model.tests
        else None,
        pool="duckdb",
        required_resource_keys={"warehouse"},
    )
    def _sql_asset(context: dg.AssetExecutionContext):
        window = _naive_window(context) if partitioned else None
        select = model.render(window)
        table = f"main.{model.name}"
        with context.resources.warehouse.connect() as conn:
            if window is None:
                conn.execute(f"create or replace table {table} as {select}")
                relation = table
            else:
                start, end = (t.strftime("%Y-%m-%d %H:%M:%S") for t in window)
                where = (
                    f"{PARTITION_COLUMN} >= TIMESTAMP '{start}' "
                    f"and {PARTITION_COLUMN} < TIMESTAMP '{end}'"
                )
                conn.execute(
                    f"create table if not exists {table} as select * from ({select}) limit 0"
                )
                _check_columns(conn, table, select, model.name)
                conn.execute(f"delete from {table} where {where}")
                conn.execute(f"insert into {table} by name {select}")
                relation = f"(select * from {table} where {where})"
            rows = conn.execute(f"select count(*) from {relation}").fetchone()[0]
            if rows == 0:
                raise ValueError(
                    f"SQL model {model.name} produced no rows for {window or 'the table'}: "
                    "are its upstream tables materialized for these cycles?"
                )
            failures = {
                name: conn.execute(q).fetchone()[0] for name, q in test_queries(model, relation)
            }
            preview = conn.execute(f"select * from {relation} limit 10").fetchdf()
        key = "dagster/partition_row_count" if partitioned else "dagster/row_count"
        yield dg.MaterializeResult(
            metadata={
                key: int(rows),
                "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
                "sql": dg.MetadataValue.md(f"```sql\n{select}\n```"),
            }
        )
        if model.tests:
            failed = {k: int(v) for k, v in failures.items() if v}
            yield dg.AssetCheckResult(
                check_name=check_name,
                passed=not failed,
                metadata={"failing_rows": failed or "none", "tests_run": len(failures)},
                description=("failed: " + ", ".join(f"{k} ({v} rows)" for k, v in failed.items()))
                if failed
                else "all schema.yml tests passed",
            )

    return _sql_asset


def _check_columns(conn, table: str, select: str, name: str) -> None:
    have = [r[0] for r in conn.execute(f"describe {table}").fetchall()]
    want = [r[0] for r in conn.execute(f"describe {select}").fetchall()]
    if have != want:
        raise ValueError(
            f"SQL model {name} now selects columns {want} but table {table} has {have}; "
            f"drop the table (`drop table {table}`) and re-materialize its cycles"
        )


def load_sql_assets(partitions_def: dg.PartitionsDefinition, sql_dir: Path = SQL_DIR) -> list:
    return [build_sql_asset(m, partitions_def) for m in discover_models(sql_dir)]
