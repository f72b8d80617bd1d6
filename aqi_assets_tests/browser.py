"""Headless Chromium through Selenium, on Debian's `chromium` and `chromium-driver` (no download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

WIDTH = 1240


def _found(*names: str) -> str:
    for name in names:
        if path := shutil.which(name):
            return path
    raise RuntimeError(
        f"{names[0]} is not installed: `apt-get install -y chromium chromium-driver` "
        "(.ci/run installs them on CI)."
    )


@contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    """A headless Chromium whose console messages `driver.get_log("browser")` returns."""
    options = webdriver.ChromeOptions()
    options.binary_location = _found("chromium", "chromium-browser")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDTH},1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_found("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
