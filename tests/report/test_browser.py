"""The HTML report in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) opens the file; the charts and the table render, sort,
filter and page; a hostile rule title stays text; a screenshot is taken; and the page makes no
network request at all. Skips, saying why, where Chromium, its driver or selenium is missing
(.ci/run installs Chromium when it can)."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from sigcc.report import write_report
from tests.conftest import EXAMPLES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
HOSTILE = '</script><img src=x onerror="window.__pwned=1">[/dim] & <b>bold</b>'

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Chromium and its driver are not installed (apt-get install chromium "
           "chromium-driver; .ci/run does this where it can)")


def _lines() -> list[dict]:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "sigcc", "scan", "--rules", str(EXAMPLES / "rules"),
                        "--rules", str(EXAMPLES / "correlations"), "--no-summary",
                        str(EXAMPLES / "logs")], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines
    lines.append({"rule_id": "evil", "title": HOSTILE, "level": "critical", "tags": [],
                  "searches": ["sel"], "file": "x.jsonl", "record": 1,
                  "timestamp": "2026-01-15T09:00:00Z", "computer": "<i>host</i>",
                  "details": {"CommandLine": HOSTILE}})
    for k in range(240):  # past one page of the table (200 rows)
        lines.append({"rule_id": "bulk", "title": "Bulk rule", "level": "low",
                      "tags": ["attack.discovery", "attack.t1082"], "searches": ["sel"],
                      "file": "bulk.jsonl", "record": k + 1,
                      "timestamp": f"2026-01-16T{k // 60:02d}:{k % 60:02d}:00Z",
                      "computer": f"h{k % 7}", "details": {"n": str(k)}})
    return lines


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (the dev extra has it)")
    from selenium.webdriver.chrome.service import Service

    d = tmp_path_factory.mktemp("report")
    lines = _lines()
    path = d / "report.html"
    write_report(lines, path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,2000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    except Exception as exc:  # a browser that cannot start here is a reason, not a failure
        pytest.skip(f"headless Chromium did not start: {type(exc).__name__}: {str(exc)[:200]}")
    try:
        driver.get(path.as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.body.dataset.ready") != "1":
            assert time.monotonic() < deadline, "the report's script never finished"
            time.sleep(0.05)
        yield driver, lines, path, d
    finally:
        driver.quit()


def _rows(driver):
    return driver.find_elements("css selector", "#matches tbody tr.row")


def test_charts_and_table_render(page):
    driver, lines, path, d = page
    assert driver.find_elements("css selector", "#timeline rect")
    levels = {r.get_attribute("data-level") for r in
              driver.find_elements("css selector", "#timeline rect")}
    assert {"critical", "high", "low"} <= levels
    total = sum(int(r.get_attribute("data-count")) for r in
                driver.find_elements("css selector", "#timeline rect"))
    assert total == sum(1 for x in lines if x.get("timestamp") or x.get("window_end"))
    assert driver.find_element("css selector", '#heatmap [data-tactic="discovery"] '
                                               '[data-technique="T1082"]').get_attribute(
        "data-count") == "240"
    assert len(driver.find_elements("css selector", "#by-rule tbody tr")) == len(
        {x["rule_id"] for x in lines})
    assert len(_rows(driver)) == 200  # the first page
    count = driver.find_element("id", "count").text
    assert count == f"{len(lines)} of {len(lines)} matches (first 200 shown)"
    driver.find_element("id", "more").click()
    assert len(_rows(driver)) == len(lines)
    shot = d / "report.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert driver.get_log("browser") == []  # no script error


def test_sort_and_filter(page):
    driver, lines, path, d = page
    th = {e.text.strip(" ▲▼"): e for e in driver.find_elements("css selector", "#matches th")}
    th["Level"].click()
    first = [r.find_element("css selector", "td.level").text for r in _rows(driver)[:3]]
    assert first[0] == "critical"
    th["Level"].click()  # descending: the least severe first
    assert _rows(driver)[0].find_element("css selector", "td.level").text == "low"
    assert th["Level"].get_attribute("aria-sort") == "descending"
    q = driver.find_element("id", "q")
    q.clear()
    q.send_keys("bulk rule")
    assert driver.find_element("id", "count").text.startswith("240 of ")
    q.clear()
    q.send_keys("onerror")
    rows = _rows(driver)
    assert len(rows) == 1
    assert rows[0].find_element("css selector", "td.title").text == HOSTILE
    assert HOSTILE in rows[0].find_element("css selector", "td.details").text
    rows[0].click()  # the line in full
    pre = driver.find_element("css selector", "#matches tr.open pre").text
    assert json.loads(pre)["title"] == HOSTILE
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    q.send_keys(Keys.CONTROL, "a")
    q.send_keys(Keys.BACKSPACE)  # (as a user empties it: clear() sends no input event)
    assert driver.find_element("id", "count").text.startswith(f"{len(lines)} of ")
    Select(driver.find_element("id", "level")).select_by_value("high")
    n_high = sum(1 for x in lines if x.get("level") == "high")
    assert len(_rows(driver)) == n_high
    Select(driver.find_element("id", "level")).select_by_value("")


def test_hostile_text_stays_text(page):
    driver, lines, path, d = page
    assert driver.execute_script("return window.__pwned") is None
    assert driver.find_elements("css selector", "img") == []
    assert driver.find_elements("css selector", "#matches b") != []  # only the details' labels
    assert all(b.text.endswith(": ") for b in driver.find_elements("css selector", "#matches b"))


def test_no_network_request(page):
    driver, lines, path, d = page
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert urls and set(urls) == {path.as_uri()}, urls
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
