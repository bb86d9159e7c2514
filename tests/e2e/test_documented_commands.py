"""Every command line README.md and docs/ show runs as written on a fresh clone: through `make`
(whose targets record their runs in the project's instance) or the project's `.venv/bin/`,
never a bare `dagster`, `dg` or `python` (not on PATH; a `dagster` that ran would record in a
throwaway instance), on Dagster's current commands, with no deprecation printed.

docs/performance.md is left out: it is a log of what was measured, in the words of the day."""

import os
import re
import shlex
import subprocess
import tomllib

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.e2e
DOCS = [PROJECT / "README.md", *sorted(p for p in (PROJECT / "docs").glob("*.md"))]
DOCS = [p for p in DOCS if p.name != "performance.md"]
COMMAND = re.compile(
    r"^(?:[A-Z_]+=\S+\s+)*(?:make\b|\.venv/bin/|dg\s|dagster\s|python3?\s|pytest\s|ruff\s)"
)


def documented() -> list[tuple[str, str]]:
    """(file, command line) of every command in a shell block or an inline code span."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = " ".join(line.split("  #")[0].split())
                if COMMAND.match(line):
                    found.append((path.name, line))
        prose = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")
        for span in re.findall(r"`([^`]+)`", prose):
            span = " ".join(span.split())
            if COMMAND.match(span):
                found.append((path.name, span))
    return found


COMMANDS = sorted({line for _, line in documented()})


def test_every_documented_command_goes_through_make_or_the_projects_venv():
    bare = [
        (f, c)
        for f, c in documented()
        if re.match(r"^(?:[A-Z_]+=\S+\s+)*(dg|dagster|python3?|pytest|ruff)\s", c)
    ]
    assert not bare, f"bare commands (not on PATH on a fresh clone): {bare}"
    assert len(COMMANDS) > 20  # the extraction finds the documents' commands


def _split(line: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(line)
    env = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, words


@pytest.mark.parametrize("line", COMMANDS)
def test_a_documented_command_is_one_this_checkout_runs(line, tmp_path):
    """A make line names a target and variables make accepts (`make -n`, nothing run); a
    `.venv/bin/` line names a program of the venv whose command exists (`--help`), prints no
    deprecation, and a `python -m` its module."""
    env, words = _split(line)
    environment = {**os.environ, **env, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    if words[0] == "make":
        done = subprocess.run(
            ["make", "-n", *words[1:]], cwd=PROJECT, env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{line}: {done.stderr[-2000:]}"
        return
    program = PROJECT / words[0]
    assert program.is_file(), f"{line}: {words[0]} is not in the project's venv"
    if words[1] == "-m":
        check = [
            str(program),
            "-c",
            f"import importlib.util as u; assert u.find_spec({words[2]!r})",
        ]
    elif words[1] == "install":  # pip: the extra it names is the project's
        extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]
        extra = re.search(r"\[(\w+)\]", line).group(1)
        assert extra in extras, f"{line}: no extra {extra!r} in pyproject.toml"
        return
    else:
        # The command's own help: the subcommand exists; no option is run.
        subcommand = [w for w in words[1:] if not w.startswith("-") and "=" not in w][:2]
        if words[0].endswith("/dg"):
            subcommand = subcommand[:2]
        check = [str(program), *subcommand, "--help"]
    done = subprocess.run(check, cwd=PROJECT, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, f"{line}: {done.stdout[-1000:]} {done.stderr[-2000:]}"
    assert "supersede" not in (done.stdout + done.stderr).lower(), line
    assert "deprecat" not in (done.stdout + done.stderr).lower(), line
