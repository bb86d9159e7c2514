"""The shared warehouse: a DuckLake (Parquet files in a folder or an object store, its catalog
in PostgreSQL) that many processes on many hosts write at once.

A lake is named by one location string, `ducklake:postgres:<libpq conninfo>?data_path=<path>`,
built by the settings from `WORKSHOP_DB` and `WORKSHOP_LAKE_DATA` and passed where a file path
goes. The conninfo never holds a password: the location is stored with every run's config
(libpq reads PGPASSWORD or ~/.pgpass). The two extensions come from their PyPI wheels (the
`lake` extra), loaded by path: they cannot be fetched at run time on a machine without the
internet, and the wheels exist for DuckDB 1.5.5 only (docs/architecture.md, "One DuckDB, two
backends"). What DuckLake refuses and the file allows (primary keys, upserts) is written so
both accept it (`portable_ddl`); concurrency is the catalog's: writers of different rows
commit side by side, and of the same rows the second is refused at commit (`is_conflict`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from pathlib import Path

PREFIX = "ducklake:postgres:"
DATA_MARK = "?data_path="
ALIAS = "workshop_lake"
EXTRA = "pip install -e '.[lake]' (the DuckLake and PostgreSQL extensions as wheels)"


CREATE_RACE_ATTEMPTS = 5


class LakeUnavailable(RuntimeError):
    """The lake cannot be opened here: its extensions are missing, or the location is wrong."""


def is_lake(database: object) -> bool:
    return str(database).startswith("ducklake:")


def location(catalog: str, data_path: str) -> str:
    """The one string that names a lake (`WORKSHOP_DB` and `WORKSHOP_LAKE_DATA`)."""
    return f"{catalog}{DATA_MARK}{data_path}"


def parse(database: str) -> tuple[str, str]:
    """(conninfo, data path) of a lake location."""
    text = str(database)
    if not text.startswith(PREFIX):
        raise LakeUnavailable(f"{text!r}: a lake location starts with {PREFIX!r}")
    catalog, _, data = text.partition(DATA_MARK)
    return catalog.removeprefix(PREFIX).strip(), data.strip()


_PASSWORD = re.compile(r"\b(password\s*=\s*)\S+", re.I)


def redacted(catalog: str) -> str:
    """The catalog setting as it may be shown: any password in it as ***."""
    return _PASSWORD.sub(r"\1***", catalog)


def location_problem(catalog: str, data_path: str) -> str | None:
    """Why `WORKSHOP_DB` (a lake catalog) and `WORKSHOP_LAKE_DATA` cannot name a lake, or None."""
    if not catalog.startswith(PREFIX):
        return f"a lake's catalog is written {PREFIX}<libpq conninfo>, e.g. {PREFIX}dbname=workshop host=db.internal user=workshop"
    conninfo = catalog.removeprefix(PREFIX)
    if not re.search(r"\bdbname\s*=", conninfo):
        return "names no dbname= (the PostgreSQL database that holds the lake's catalog)"
    if _PASSWORD.search(conninfo):
        return (
            "carries a password, which would be stored with every run's configuration: give it "
            "in PGPASSWORD or ~/.pgpass instead"
        )
    if not data_path:
        return "needs WORKSHOP_LAKE_DATA: the folder (or s3:// URL) the lake's Parquet files go to"
    if "://" not in data_path and not Path(data_path).is_absolute():
        return f"WORKSHOP_LAKE_DATA={data_path!r} must be an absolute folder or an s3:// URL"
    if DATA_MARK in conninfo or DATA_MARK in data_path:
        return f"neither may contain {DATA_MARK!r}"
    return None


def extension_files() -> tuple[Path, Path]:
    """The postgres and ducklake extension files of this DuckDB, from their wheels.

    The postgres extension loads only under the name `postgres_scanner.duckdb_extension`, and
    its wheel ships `postgres.duckdb_extension`: a link under the right name is made once in
    the user's cache. (DuckDB's version read from its metadata: the settings check this when
    the code location loads, which imports no duckdb.)"""
    from importlib.metadata import version as installed

    duckdb_version = installed("duckdb")
    version = f"v{duckdb_version}"
    found = []
    for package, name in (
        ("duckdb_extension_postgres", "postgres"),
        ("duckdb_extension_ducklake", "ducklake"),
    ):
        spec = importlib.util.find_spec(package)
        path = (
            Path(spec.origin).parent / "extensions" / version / f"{name}.duckdb_extension"
            if spec and spec.origin
            else None
        )
        if path is None or not path.exists():
            raise LakeUnavailable(
                f"the {name} extension for DuckDB {duckdb_version} is not installed: {EXTRA}"
            )
        found.append(path)
    postgres, ducklake = found
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "workshop" / "duckdb-extensions" / version
    link = folder / "postgres_scanner.duckdb_extension"
    if not (link.exists() and link.resolve() == postgres.resolve()):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".postgres_scanner.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(postgres)
        tmp.replace(link)  # atomic: two processes making it at once both end with one link
    return link, ducklake


def attach(conn, database: str) -> None:
    """Open the lake on an in-memory DuckDB connection and make it the default catalog."""
    conninfo, data_path = parse(database)
    import duckdb

    postgres, ducklake = extension_files()
    conn.execute(f"LOAD '{postgres}'")
    conn.execute(f"LOAD '{ducklake}'")
    options = f" (DATA_PATH '{_quoted(data_path)}')" if data_path else ""
    for attempt in range(CREATE_RACE_ATTEMPTS):
        try:
            conn.execute(f"ATTACH '{_quoted(PREFIX + conninfo)}' AS {ALIAS}{options}")
            break
        except duckdb.Error as exc:
            said = " ".join(str(exc).split()).rstrip(".")
            # Two hosts opening a new lake at once both create its catalog's tables, and the
            # slower is refused (seen with two Celery workers): the catalog exists now, open it.
            if "already exists" in said and attempt + 1 < CREATE_RACE_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise _unavailable(conninfo, said) from None
    conn.execute(f"USE {ALIAS}")


def _unavailable(conninfo: str, said: str) -> LakeUnavailable:
    if "does not match existing data path" in said:
        hint = (
            "WORKSHOP_LAKE_DATA must name the folder the lake was made with (its catalog "
            "keeps it): every host mounts the same one"
        )
    else:
        hint = (
            "is PostgreSQL running there, the database created (createdb), and its "
            "password in PGPASSWORD or ~/.pgpass?"
        )
    return LakeUnavailable(
        f"cannot open the lake whose catalog is {conninfo!r} (WORKSHOP_DB): {said}; {hint}"
    )


def _quoted(text: str) -> str:
    return text.replace("'", "''")


_PRIMARY_KEY = re.compile(r"\s+primary key\b", re.I)
_KEY_CLAUSE = re.compile(r",\s*primary key\s*\([^)]*\)", re.I)


def portable_ddl(ddl: str, lake: bool) -> str:
    """A table's DDL as the backend takes it: DuckLake has no primary keys or unique constraints,
    so on a lake they are left out (the writers keep rows unique: delete-then-insert in one
    transaction, and the catalog refuses the second of two writers of the same rows)."""
    if not lake:
        return ddl
    return _PRIMARY_KEY.sub("", _KEY_CLAUSE.sub("", ddl))


def is_conflict(exc: BaseException) -> bool:
    """Whether a commit was refused because another writer committed the same rows first."""
    return "Transaction conflict" in str(exc)
