"""A headless Chromium (Debian's package) driven by Playwright, for tests that look at pages."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import PROJECT
from tests.e2e.processes import missing

ARTIFACTS = PROJECT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = os.environ.get("WORKSHOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("needs Debian's chromium (`apt-get install chromium`; .ci/run installs it)")
    return path


@contextmanager
def browser_page(width: int = 1280, height: int = 1600):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
