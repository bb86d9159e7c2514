"""Every host runs the same versions: requirements/dev.lock (what `make install` syncs .venv to)
and requirements/deploy.lock (what deploy/Dockerfile installs) pin every dependency of
pyproject.toml at a version its range accepts, the deploy lock at the dev lock's versions, each
with hashes; the Dockerfile installs the deploy lock and then the package without resolving."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(
    r"^(?P<pin>[A-Za-z0-9_.\-\[\]]+==[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


def locked(name: str) -> dict[str, list[tuple[str, str | None]]]:
    """Package -> [(version, marker)] of a lock; every entry must carry hashes."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    lines = (PROJECT / "requirements" / name).read_text().splitlines()
    for i, line in enumerate(lines):
        m = ENTRY.match(line)
        if not m:
            continue
        req = Requirement(m["pin"] + (f"; {m['marker']}" if m["marker"] else ""))
        assert "--hash=sha256:" in lines[i + 1], f"{name}: {req} has no hash"
        version = str(req.specifier).removeprefix("==")
        out.setdefault(canonicalize_name(req.name), []).append((version, m["marker"]))
    return out


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize(
    ("lock", "extras"), [("dev.lock", ("dev",)), ("deploy.lock", ("postgres", "lake", "cluster"))]
)
def test_a_lock_pins_every_dependency_within_its_range(lock, extras):
    pins = locked(lock)
    env = default_environment()
    for req in declared(*extras):
        entries = pins.get(canonicalize_name(req.name))
        assert entries, f"{lock} does not pin {req.name} (make lock)"
        here = [
            v
            for v, marker in entries
            if marker is None or Requirement(f"x; {marker}").marker.evaluate(env)
        ]
        assert here, f"{lock}: no {req.name} for this Python"
        assert all(req.specifier.contains(v, prereleases=True) for v in here), (
            f"{lock} pins {req.name}=={here} outside {req} (make lock)"
        )


def test_the_deploy_lock_runs_the_versions_the_tests_run():
    dev, deploy = locked("dev.lock"), locked("deploy.lock")
    differ = {
        name: (deploy[name], dev.get(name)) for name in deploy if deploy[name] != dev.get(name)
    }
    assert not differ, f"deploy.lock is not at dev.lock's versions: {differ}"
    assert "pytest" in dev and "pytest" not in deploy


def test_the_image_installs_the_deploy_lock_then_the_package_alone():
    runs = [
        " ".join(line.split())
        for line in (PROJECT / "deploy" / "Dockerfile")
        .read_text()
        .replace("\\\n", " ")
        .splitlines()
        if line.startswith("RUN ") and "pip install" in line
    ]
    assert len(runs) == 2, runs
    assert "--require-hashes -r requirements/deploy.lock" in runs[0]
    assert "--no-deps -e ." in runs[1]
