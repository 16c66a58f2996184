"""The dashboard in a real headless chromium: it renders from the demo's tables, every filter
changes the rows, the export downloads what the table shows, nothing leaves the page, axe finds
no serious or critical violation, and screenshots are kept (desktop and 375 px, light and dark)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import axe_violations, chromium, requests_leaving
from dashboard_support import MARGIE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory) -> Path:
    """`pal-audit demo`: two runs on armsim + Azurite, then the dashboard written from the tables."""
    work = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAL_", "AzureWebJobs"))}
    proc = subprocess.run([sys.executable, "-m", "pal_audit.cli", "demo", "--workdir", str(work)],
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    page = work / "dashboard.html"
    printed = re.sub(r"\s+", "", proc.stdout)       # rich may wrap the path
    assert str(page.resolve()).replace(" ", "") in printed
    return page


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path) as driver:
        yield driver


def visible(driver, selector: str) -> list:
    return [r for r in driver.find_elements("css selector", selector) if r.is_displayed()]


def choose(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", element_id)).select_by_value(value)


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.set_window_size(max(width, 375), min(max(height, 600), 8000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_the_page_renders_from_the_demo_tables_and_nothing_leaves_it(demo_page, browser):
    browser.get(demo_page.as_uri())
    # run 2 follows `pal-audit fix`: Margie's Travel linked, Wide World Importers moved to the current id
    assert "7 of 9 customers credited" in browser.title
    customers = visible(browser, "#customers tbody tr")
    assert len(customers) == 10
    margie = browser.find_element("css selector", f'#customers tr[data-tenant="{MARGIE}"]')
    assert "credited" in margie.text and "ops-app" in margie.text
    changes = browser.find_element("id", "changes").text
    assert changes.count("RESOLVED") == 4 and "Margie's Travel" in changes and "Wide World" in changes
    assert browser.find_element("css selector", "svg.chart title").get_attribute("textContent")
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []                                   # a CSP violation would be logged here
    assert requests_leaving(browser, demo_page.as_uri()) == []
    shot(browser, "desktop-light")


def test_each_filter_changes_the_rows(demo_page, browser):
    browser.get(demo_page.as_uri())
    all_customers = len(visible(browser, "#customers tbody tr"))
    all_findings = len(visible(browser, "#findings tbody tr"))

    choose(browser, "f-severity", "high")
    rows = visible(browser, "#findings tbody tr")
    assert 0 < len(rows) < all_findings and all(r.get_attribute("data-severity") == "high" for r in rows)
    assert 0 < len(visible(browser, "#customers tbody tr")) < all_customers
    browser.find_element("id", "f-reset").click()
    assert len(visible(browser, "#findings tbody tr")) == all_findings

    choose(browser, "f-check", "link_foreign_partner")
    rows = visible(browser, "#customers tbody tr")
    assert [r.find_element("tag name", "th").text.splitlines()[0] for r in rows] == ["Tailwind Traders"]
    assert {r.get_attribute("data-check") for r in visible(browser, "#findings tbody tr")} == \
        {"link_foreign_partner"}
    browser.find_element("id", "f-reset").click()

    browser.find_element("id", "f-customer").send_keys("margie")
    rows = visible(browser, "#customers tbody tr")
    assert [r.get_attribute("data-tenant") for r in rows] == [MARGIE]
    assert visible(browser, "#findings tbody tr") == []          # Margie's has none open after the fix
    browser.find_element("id", "f-reset").click()

    choose(browser, "f-credit", "not credited")
    rows = visible(browser, "#customers tbody tr")
    assert len(rows) == 1 and all(r.get_attribute("data-credit") == "not credited" for r in rows)
    assert "1 of 10 customers" in browser.find_element("id", "shown").text


def _downloaded(folder: Path, name: str) -> Path:
    path = folder / name
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if path.exists() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded; {sorted(p.name for p in folder.iterdir())}")


def test_the_export_downloads_what_the_table_shows(demo_page, browser, tmp_path):
    browser.get(demo_page.as_uri())
    choose(browser, "f-severity", "medium")                 # credited customers with a medium finding
    shown = {r.get_attribute("data-tenant") for r in visible(browser, "#customers tbody tr")
             if r.get_attribute("data-credit") == "credited"}
    assert shown and MARGIE not in shown
    browser.find_element("id", "export-csv").click()
    rows = list(csv.DictReader(_downloaded(tmp_path / "downloads", "pal-evidence.csv").open()))
    assert {r["tenant_id"] for r in rows} == shown
    assert all(r["partner_id"] == "1234567" and re.fullmatch(r"[0-9a-f-]{36}", r["object_id"])
               and r["last_verified"] for r in rows)
    browser.find_element("id", "export-json").click()
    body = json.loads(_downloaded(tmp_path / "downloads", "pal-evidence.json").read_text())
    assert [{k: r[k] for k in ("tenant_id", "identity", "object_id")} for r in body["evidence"]] == \
        [{k: r[k] for k in ("tenant_id", "identity", "object_id")} for r in rows]
    assert requests_leaving(browser, demo_page.as_uri()) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_at_desktop_and_375_px(demo_page, browser, scheme):
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    for width in (1280, 375):
        browser.set_window_size(width, 900)
        browser.get(demo_page.as_uri())
        for details in browser.find_elements("tag name", "details"):
            browser.execute_script("arguments[0].open = true", details)   # the trend table too
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in axe_violations(browser) if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{scheme} at {width}px: {bad}"
        # The page itself never scrolls sideways; wide tables scroll inside their own region.
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        shot(browser, f"{'desktop' if width > 375 else 'mobile-375'}-{scheme}")


def test_keyboard_reaches_the_filters_and_the_export(demo_page, browser):
    from selenium.webdriver.common.keys import Keys

    browser.get(demo_page.as_uri())
    body = browser.find_element("tag name", "body")
    body.send_keys(Keys.TAB)
    focused = []
    for _ in range(40):
        active = browser.switch_to.active_element
        focused.append(active.get_attribute("id") or active.get_attribute("class") or active.tag_name)
        active.send_keys(Keys.TAB)
    assert focused[0] == "skip"
    for target in ("f-severity", "f-check", "f-customer", "f-credit", "export-csv", "export-json"):
        assert target in focused, focused


def test_each_findings_text_is_whole_again_in_the_page(browser, tmp_path):
    # The page carries what a check's findings share once; its script puts every text back together.
    from dashboard_support import finding, inputs, tenant

    from pal_audit.dashboard import build, render

    tids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(3)]
    texts = {tid: (f"Linked to partner ID 1234567, but no active role is PAL-eligible: Reader at "
                   f"/subscriptions/{tid} (Reader is not PAL-eligible per the PEC role table).",
                   f"Ask the customer to grant a PAL-eligible role where this identity works, e.g.\n"
                   f"az role assignment create --assignee oid-{i} --role \"Support Request Contributor\" "
                   f"--scope /subscriptions/{tid} (or the portal's Access control (IAM)).")
             for i, tid in enumerate(tids)}
    view = build(inputs(tuple(tenant(t, f"Customer {i}") for i, t in enumerate(tids)),
                        tuple(finding(t, "link_without_eligible_role", detail=d, remediation=r)
                              for t, (d, r) in texts.items())))
    html = render(view).html
    # Said twice for three findings: under its check, and in the data the script reads.
    assert html.count("Ask the customer to grant") == 2
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    browser.get(page.as_uri())
    for row in browser.find_elements("css selector", "#findings tbody tr"):
        detail, fix = [e.get_attribute("textContent") for e in row.find_elements("css selector", ".pre")]
        assert (detail, fix) == texts[row.get_attribute("data-tenant")]
        assert row.get_attribute("data-check") == "link_without_eligible_role"
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
