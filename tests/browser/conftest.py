"""A real browser for the wallboard: Debian's chromium (`apt-get install chromium`) driven by
Playwright, which is told where the browser is and never downloads one.

Without the browser these tests skip — unless PIPEDAY_REQUIRE_BROWSER is set (`.ci/run` sets
it), when they fail: CI must never pass without having run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (  # noqa: F401 - fixtures the page's server needs
    clock,
    live_bot,
    public_url,
    seed_source,
    slack,
)

CHROMIUM = Path(os.environ.get("PIPEDAY_CHROMIUM", "/usr/bin/chromium"))
SCREEN = {"width": 1920, "height": 1080}


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright isn't installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    missing = _missing_browser()
    if missing is not None:
        if os.environ.get("PIPEDAY_REQUIRE_BROWSER"):
            pytest.fail(f"PIPEDAY_REQUIRE_BROWSER is set but {missing}.")
        pytest.skip(f"no browser for the wallboard tests: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # Root in a container has no user namespaces for chromium's sandbox.
            args=["--no-sandbox", "--disable-gpu", "--force-device-scale-factor=1"],
        )
        yield browser
        browser.close()


@pytest.fixture
def tv_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=SCREEN, device_scale_factor=1)
    page = context.new_page()
    yield page
    context.close()
