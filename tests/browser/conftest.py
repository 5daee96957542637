"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven through Selenium.

Missing pieces skip these tests, unless ``VHTQDM_BROWSER_REQUIRED=1`` (``nox -s browser``,
which CI runs) makes them a failure: CI must never pass without looking at the page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("VHTQDM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("VHTQDM_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
REQUIRED = os.environ.get("VHTQDM_BROWSER_REQUIRED") == "1"
# As root, with no network but loopback: no sandbox, no GPU, none of Chromium's own traffic.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1000,1080",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
]


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (VHTQDM_BROWSER_REQUIRED=1)")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium with an empty profile, closed after the test."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install '.[browser]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            _missing(f"{path} not found (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
