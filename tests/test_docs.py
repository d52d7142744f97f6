"""The documentation site builds: docs/generate.py writes its numbers and charts, then a strict mkdocs build (every
warning an error: a broken link, a missing generated fragment, a docstring mkdocstrings cannot render)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner is not a build warning
    return subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_docs_site_builds_strict_with_generated_numbers(tmp_path):
    generated = _run(["docs/generate.py"], timeout=120)
    assert generated.returncode == 0, generated.stderr
    numbers = json.loads((ROOT / "docs" / "generated" / "numbers.json").read_text(encoding="utf-8"))

    site = tmp_path / "site"
    built = _run(["-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(site)], timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "WARNING" not in built.stderr, built.stderr

    for page in ("index.html", "api/index.html", "allocation/index.html", "formats/index.html", "basin/index.html",
                 "workflows/withdrawal-levels/index.html", "workflows/rules/index.html", "workflows/charts/index.html"):
        assert (site / page).is_file(), page
    for chart in ("chart_shortfall.png", "chart_map.png", "chart_heatmap.png", "rules_compare.png"):
        assert (site / "generated" / chart).stat().st_size > 10_000, chart

    # the workflow page shows the numbers the generator computed, not typed ones
    workflow = (site / "workflows" / "withdrawal-levels" / "index.html").read_text(encoding="utf-8")
    for key in ("uzb_shortfall_km3", "tkm_shortfall_km3", "cost_km3"):
        assert f"{numbers[key]} km3/yr" in workflow, (key, numbers[key])
    assert f"<td style=\"text-align: right;\">{numbers['uzb_shortfall_km3']}</td>" in workflow

    # the API page renders the interface's docstrings (mkdocstrings), not just the headings
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "run_with_counterparts" in api and "Simulate a run file and return its results." in api
    assert ":func:" not in api  # the hook drops Sphinx roles
