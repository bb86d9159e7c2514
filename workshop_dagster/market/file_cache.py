"""A value computed once and kept as JSON in a folder, for as long as its key holds.

Every process that loads the code location or runs a cycle needs the cycle partitions' closed
days and keys and the NYSE schedule; building them imports and runs exchange_calendars and
Dagster's partition listing (docs/performance.md). The callers put what the value depends on in
the key (their inputs, the day, library versions), so a stale file is simply not found.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cached(
    folder: Path | None,
    name: str,
    key: list[str],
    compute: Callable[[], Any],
    valid: Callable[[Any], bool],
) -> Any:
    """`compute()` (a JSON value), read from `folder` when a file for the same `key` holds a
    `valid` one. An unreadable or invalid file is rebuilt; an unwritable folder only costs the
    speed. One live file a name: writing one removes the others."""
    if folder is None:
        return compute()
    path = folder / f"{name}-{hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]}.json"
    try:
        value = json.loads(path.read_text())
        if valid(value):
            return value
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
            json.dump(value, f)
        os.replace(f.name, path)
        for old in folder.glob(f"{name}-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return value
