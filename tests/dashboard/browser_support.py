"""Headless Debian chromium through its chromedriver (Selenium), offline and without a profile.

Skips when chromium is missing locally; fails under CI=true, where nothing may be skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")
# The page itself and what it makes locally; anything else left the page.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome-error:")


def require(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{what} not found at {path} (bash scripts/setup.sh installs it)"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium(tmp: Path, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    require(CHROMIUM, "chromium")
    require(CHROMEDRIVER, "chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp / 'profile'}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    downloads = tmp / "downloads"
    downloads.mkdir(exist_ok=True)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(downloads)})
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()


def requests_leaving(driver: Any, page_url: str) -> list[str]:
    """URLs requested that left the machine or the page, from Chrome's performance log: any
    http(s)/ws(s)/ftp request at all, and anything but local schemes asked for by the page.
    (The browser's own chrome:// pages, such as the first blank tab, are not the page.)"""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        url, document = message["params"]["request"]["url"], message["params"].get("documentURL", "")
        if url.startswith(("http:", "https:", "ws:", "wss:", "ftp:")) or (
                document == page_url and not url.startswith(LOCAL_SCHEMES)):
            out.append(url)
    return out


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    require(AXE, "axe-core")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done(String(e)));")
    assert isinstance(result, list), result
    return result
