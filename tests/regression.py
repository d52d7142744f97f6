"""Regression cases: the numbers every shipped run, rule, hydrology kind and Afghan position gives today.

``tests/test_regression.py`` reruns each case and compares it with ``tests/data/regression.npz`` to 1e-9 hm3, so
that a new implementation of the monthly loop (a compiled kernel, issue 12) must give today's numbers. Regenerate
the file only when a change of results is intended, and say why in the commit:

    .venv/bin/python -m tests.regression

Each case is a run file with overrides, 3 years (and at most 3 members) to stay fast. ``data/series_3yr.csv`` is a
synthetic test input (a seasonal wave for the Vakhsh and the Kokcha in m3/s), not a basin figure. Kept per case: withdrawal at
every offtake, storage at every reservoir, inflow at every terminal and flow at Kerki, hm3 per month,
(member, time, node) in the node order stored beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"
FIXTURE = Path(__file__).resolve().parent / "data" / "regression.npz"
SERIES = Path(__file__).resolve().parent / "data" / "series_3yr.csv"
SHORT = [("time.years", 3)]
RULES = ("upstream_first", "icwc_quota", "protocol_566", "kerki_split", "proportional")
HYDROLOGY = {
    "climatology": [],
    "stochastic": [("hydrology.kind", "stochastic"), ("hydrology.members", 3), ("hydrology.seed", 7)],
    "year_type": [("hydrology.kind", "year_type"), ("hydrology.year", "dry")],
    "historical": [("hydrology.kind", "historical"), ("hydrology.replay", [2021, 2023])],
    "series": [("hydrology.kind", "series"), ("hydrology.series", str(SERIES))],
}


def cases() -> dict[str, tuple[Path, list]]:
    """Case name -> (run file, overrides)."""
    out = {}
    for rule in RULES:
        for kind, overrides in HYDROLOGY.items():
            out[f"baseline/{rule}/{kind}"] = (RUNS / "mean_year.toml", [*SHORT, ("rule", rule), *overrides])
    for rule in ("upstream_first", "icwc_quota", "proportional"):
        out[f"baseline/{rule}/afghan_quota"] = (RUNS / "mean_year.toml", [*SHORT, ("rule", rule), ("allocation.afghanistan", "quota"), ("allocation.afghan_quota_km3", 6.0)])
        out[f"baseline/{rule}/afghan_capped"] = (RUNS / "mean_year.toml", [*SHORT, ("rule", rule), ("allocation.afghanistan", "capped"), ("allocation.qosh_tepa_cap_m3s", 200.0)])
        out[f"baseline/{rule}/environment_first"] = (RUNS / "mean_year.toml", [*SHORT, ("rule", rule), ("allocation.environment_first", True)])
    out["baseline/icwc_quota/forecast_error"] = (RUNS / "mean_year.toml", [*SHORT, ("rule", "icwc_quota"), *HYDROLOGY["stochastic"], ("allocation.forecast_error", 0.2), ("allocation.seed", 3)])
    out["baseline/upstream_first/rogun_melt_scale"] = (RUNS / "mean_year.toml", [*SHORT, ("reservoirs.rogun.enabled", True), ("hydrology.melt_shift_weeks", 2.0), ("hydrology.scale", 0.84)])
    for name in ("no_qosh_tepa", "dry_year", "ensemble", "rules_compare", "qosh_tepa_sweep"):
        extra = [("hydrology.members", 3)] if name in ("ensemble", "qosh_tepa_sweep") else []
        out[f"{name}"] = (RUNS / f"{name}.toml", [*SHORT, *extra])
    return out


def compute(run_file: Path, overrides: list) -> dict[str, np.ndarray]:
    """The kept numbers of one case: {variable: (member, time, node) array, 'nodes/<variable>': node names}."""
    from hydro.runner import run_scenario
    from hydro.scenario import load_scenario

    ds = run_scenario(load_scenario(run_file, overrides))
    kinds = {"withdrawal": ["offtake"], "storage": ["reservoir"], "inflow": ["terminal"]}
    out = {}
    for variable, wanted in kinds.items():
        sel = ds[variable].isel(node=np.flatnonzero(np.isin(ds.kind.values, wanted)))
        out[variable] = sel.transpose("member", "time", "node").values
        out[f"nodes/{variable}"] = np.array([str(n) for n in sel.node.values])
    out["kerki_flow"] = ds.flow.sel(node="kerki").transpose("member", "time").values
    return out


def regenerate() -> None:
    arrays = {}
    for name, (run_file, overrides) in cases().items():
        for key, value in compute(run_file, overrides).items():
            arrays[f"{name}::{key}"] = value
        print(name)
    np.savez_compressed(FIXTURE, **arrays)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1e3:.0f} kB, {len(cases())} cases)")


if __name__ == "__main__":
    sys.exit(regenerate())
