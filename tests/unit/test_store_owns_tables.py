"""The store owns every table: no module outside `workshop_dagster/store/` names a warehouse
table in a SQL string (f-strings read with their holes, docstrings and comments aside), and the
store's list of tables is the asset graph's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from workshop_dagster.store import tables

PACKAGE = Path(__file__).resolve().parents[2] / "workshop_dagster"
SQL_WORD = re.compile(r"\b(select|insert|delete|update|create|alter|drop|describe)\b", re.I)
NAMES = "|".join(sorted(tables.ALL, key=len, reverse=True))
NAMING = re.compile(
    rf"\b(?:from|join|into|update|table(?:\s+if\s+not\s+exists)?|describe|exists)\s+"
    rf"(?:(?:\{{\w*\}}|\w+)\.)?({NAMES})\b",
    re.I,
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_naming_tables(source: str) -> list[tuple[int, str]]:
    """(line, table) for each string of `source` that reads as SQL and names a table."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            texts.append((node.lineno, text))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append((node.lineno, node.value))
    return [
        (line, m.group(1))
        for line, text in texts
        if SQL_WORD.search(text)
        for m in NAMING.finditer(text)
    ]


def test_the_check_finds_a_table_named_in_plain_and_formatted_sql():
    source = (
        'def f(conn, schema):\n    """Read from memo, as prose."""\n'
        '    conn.execute("select body from memo")\n'
        '    conn.execute(f"delete from {schema}.record_seals where seq > ?")\n'
        '    conn.execute("select * from frame")\n'
    )
    assert sql_naming_tables(source) == [(4, "record_seals"), (3, "memo")]


def test_no_module_outside_the_store_names_a_warehouse_table_in_sql():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("store", "__pycache__") or "__pycache__" in rel.parts:
            continue
        found = sql_naming_tables(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(rel)] = found
    assert not offenders, f"ask the store (workshop_dagster/store/) instead: {offenders}"


def test_the_stores_asset_tables_are_the_asset_graphs():
    from workshop_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    stored = {key.path[-1] for key in graph.get_all_asset_keys()}
    assert stored == set(tables.ASSET_TABLES)
