"""The HTML report: self-contained, and working in a real browser (headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from hydro.cli import main
from hydro.report import write_report
from hydro.sweeps import run_sweep
from tests.conftest import RUNS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A folder holding a run (results.nc) and a small sweep over the Qosh Tepa level, and its report."""
    folder = tmp_path_factory.mktemp("report") / "baseline"
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=3", "--out", str(folder)]) == 0
    run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0, 6, 12]), ("rule", ["upstream_first", "icwc_quota"])], folder,
              [("hydrology.members", 3), ("time.years", 2)], workers=0, progress=False)
    return write_report(folder)


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*["\']https?://', text), "the report must not load anything from a network"
    assert "<script src" not in text and "<link" not in text
    assert text.count("data:image/png;base64,") >= 7
    for needed in ("Key numbers", "UZB", "TKM", "Assumptions and sources", "Provenance", "qt-slider", "Hashimoto"):
        assert needed in text, needed


def test_key_numbers_come_first(report):
    text = report.read_text(encoding="utf-8")
    assert text.index("Key numbers") < text.index("<figure")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it when it can)")
def test_report_works_in_headless_chromium(report, tmp_path):
    url = report.resolve().as_uri()
    profile = tmp_path / "profile"
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                          "--enable-logging=stderr", "--v=0", "--dump-dom", url + "#selftest"],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="selftest-result">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    result = json.loads(found.group(1))
    assert result["errors"] == [], result
    assert result["images"] >= 7 and result["images_ok"], result
    assert result["slider"] and result["changed"], result
    assert result["rules"] == 2 and result["rule_changed"], result  # the rule control redraws numbers and chart
    assert result["bars"] >= 12 * 2, result  # a bar per month and state, drawn in the page
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not console, console
    shot = report.parent / "report_screenshot.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,2200",
                    f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    shutil.copy(shot, tmp_path / "report_screenshot.png")


def test_the_report_opens_with_a_summary_written_from_its_numbers(tmp_path):
    """The plain-language summary restates the key numbers (Qosh Tepa's cost, its share of demand, the worst months)
    and a run made dry is never called the mean year (issue 14)."""
    import re

    from hydro.cli import main
    from hydro.report import key_numbers, plain_summary
    from hydro.results import counterparts, open_results

    out = tmp_path / "dry"
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=3", "--set", "hydrology.scale=0.84", "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    ds = open_results(out / "results.nc")
    others = counterparts(out / "results.nc", ds)
    cost = key_numbers(ds, others).loc["UZB + TKM: Qosh Tepa's cost", "all years, with Qosh Tepa (km3/yr)"]
    text = plain_summary(ds, others)
    assert f"together get {float(cost):.1f} km³ a year less water" in text and "in April" in text
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index('class="summary"') < page.index("Key numbers")
    assert re.search(r"<h1>Mean year \(time.years=3, hydrology.scale=0.84\)</h1>", page)
    assert "mean year x 0.84" in page and "mean year, with" not in page


def test_a_compare_report_says_what_each_rule_costs_and_keeps_its_notes(tmp_path):
    """Its own title with the overrides, a summary of Qosh Tepa's cost per rule computed from compare.csv, km3 beside
    %, the unsourced-limits note of protocol_566, assumptions and provenance (issue 14)."""
    import pandas as pd

    from hydro.report import compare_summary

    out = tmp_path / "cmp"
    assert main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first,protocol_566", "--set", "time.years=2", "--out", str(out), "-q"]) == 0
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    table = pd.read_csv(out / "compare.csv")
    mine = table[(table.period == "all") & table.state.isin(["UZB", "TKM"]) & (table.rule == "protocol_566")]
    cost = mine[mine.qosh_tepa_km3 == 6.0].shortfall_km3.sum() - mine[mine.qosh_tepa_km3 == 0.0].shortfall_km3.sum()
    assert f"{cost:.1f} km³ a year under protocol_566" in compare_summary(table)
    assert "(time.years=2)</h1>" in page and "UNSOURCED limits" in page and "UZB km3/yr" in page
    assert "Assumptions and sources" in page and "Provenance" in page
