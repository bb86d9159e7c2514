"""dbt-like SQL models: one SELECT a file, `{{ ref('name') }}` for dependencies (no Dagster).

A model file starts with `{{ config(...) }}` (partitioned, group, description). `render` resolves
refs to real tables, to a cycle window's slice of them, or to any relation the caller names, so
the same SQL computes a rollup in the warehouse and, in memory, the rollup as of a past cycle.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # the models are discovered when the code location loads; run, they import these
    import duckdb
    import pandas as pd

# The SQL project beside the package (`dbt_like_sql/`: one model a file, its tests in schema.yml).
SQL_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql"
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

    def render(
        self,
        window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
        schema: str = "main",
        relation: Callable[[str], str] | None = None,
    ) -> str:
        """The model's SELECT with refs resolved: to `relation(name)` when given, else to the
        table, or to the window's slice of it for a partitioned model."""

        def table(match: re.Match) -> str:
            name = match.group("name")
            if relation is not None:
                return relation(name)
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


def run_in_memory(
    models: list[SqlModel], tables: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Run unpartitioned models in dependency order over in-memory frames.

    Used to compute a rollup (track record, rules) as of a past cycle from the scores known then,
    with exactly the SQL that builds the warehouse table.
    """
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        for name, frame in tables.items():
            conn.register(name, frame)
        return run_models(conn, models)
    finally:
        conn.close()


def run_models(conn: duckdb.DuckDBPyConnection, models: list[SqlModel]) -> dict[str, pd.DataFrame]:
    """Run models in dependency order on a connection that already holds their inputs; each
    result is registered under the model's name so the next model can `ref()` it."""
    import duckdb

    results: dict[str, pd.DataFrame] = {}
    for model in models:
        try:
            frame = conn.execute(model.render(relation=lambda n: n)).fetchdf()
        except duckdb.CatalogException as exc:
            raise ValueError(
                f"{model.name} needs {model.refs} (not given, not computed yet)"
            ) from exc
        results[model.name] = frame
        conn.register(model.name, frame)
    return results


@lru_cache(maxsize=8)
def models_by_name(sql_dir: str = str(SQL_DIR)) -> dict[str, SqlModel]:
    return {m.name: m for m in discover_models(Path(sql_dir))}
