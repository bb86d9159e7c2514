"""The house rules the code keeps, read from its source: the domain packages import nothing from
Dagster; Dagster's private modules are imported in platform/ only; a module over 350 lines says
why at its top."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workshop_dagster"
DOMAINS = ("market", "minds", "predictions", "portfolio", "publish", "store")


def _modules(folder: Path = PACKAGE):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_package_imports_nothing_from_dagster(domain):
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(n for n in _imported(p) if n.split(".")[0] == "dagster")
        for p in _modules(PACKAGE / domain)
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_dagsters_private_modules_are_imported_in_platform_only():
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(n for n in _imported(p) if n.startswith("dagster._"))
        for p in _modules()
        if "platform" not in p.relative_to(PACKAGE).parts
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_a_module_over_350_lines_says_why_at_its_top():
    silent = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 350:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Over 350 lines:" not in doc:
                silent.append(str(path.relative_to(PACKAGE)))
    assert not silent, f"say why at the top, '(Over 350 lines: ...)': {silent}"


def test_a_domain_of_defs_imports_no_other_domain():
    """A domain of defs/ imports only what is below defs/ (the shared names and the variant
    jobs are in `lib/variant_jobs.py` and `lib/per_cycle.py`), so each folder stands alone."""
    defs = PACKAGE / "defs"
    crossing = {}
    for path in _modules(defs):
        domain = path.relative_to(defs).parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                other = node.module.split(".")[0]
                if other != domain:
                    crossing.setdefault(str(path.relative_to(PACKAGE)), []).append(node.module)
    assert not crossing
