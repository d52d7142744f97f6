"""Compound scenarios: what each project alone, and all of them together, do to the water and the energy.

A run file's ``[attribution] projects`` names each project by the run-file settings that switch it **off**, e.g.
``qosh_tepa = ["qosh_tepa.withdrawal_km3=0"]`` and ``rogun = ["reservoirs.rogun.enabled=false"]``. The run as
written has every project on; :func:`attribute` runs it once per combination of projects on and off (2^n runs,
the same members and years), and reports per combination and period (all years, dry years):

- each state's shortfall (km3/yr) and UZB + TKM together;
- the flow at Kerki in April-September and in October-March (km3 per season);
- the winter (October-March) hydropower of Tajikistan's plants (TWh).

The effects are differences from the run with no project: each project alone (its combination alone on),
all together, and the interaction (all together less the sum of each alone: what no project explains alone, a
two-project run's classic factorial term).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import xarray as xr

from hydro.energy import WINTER_MONTHS, monthly
from hydro.errors import Problem, ScenarioError
from hydro.metrics import period_mask, state_summary
from hydro.scenario import load_scenario, parse_set

PERIODS = ("all years", "dry years")
MAX_PROJECTS = 3
QUANTITIES = {  # name -> what it is, in which unit
    "UZB_shortfall_km3": "Uzbekistan's shortfall, km3/yr",
    "TKM_shortfall_km3": "Turkmenistan's shortfall, km3/yr",
    "UZB_TKM_shortfall_km3": "the two together, km3/yr",
    "kerki_apr_sep_km3": "flow at Kerki in April-September, km3 per season",
    "kerki_oct_mar_km3": "flow at Kerki in October-March, km3 per season",
    "TJK_winter_energy_twh": "Tajikistan's hydropower in October-March, TWh per winter",
}


def projects_of(raw, where: str) -> dict[str, list[tuple[str, object]]]:
    """The ``attribution.projects`` table checked: 1 to 3 projects, each a list of 'KEY=VALUE' settings that switch it off."""
    ok = isinstance(raw, dict) and 1 <= len(raw) <= MAX_PROJECTS and all(
        isinstance(v, list) and v and all(isinstance(x, str) and "=" in x for x in v) for v in raw.values())
    if not ok:
        raise ScenarioError([Problem(where, "attribution.projects", raw if raw is not None else "<missing>",
                                     f"1 to {MAX_PROJECTS} projects, each a list of 'KEY=VALUE' run-file settings that switch it off, "
                                     "e.g. { qosh_tepa = [\"qosh_tepa.withdrawal_km3=0\"], rogun = [\"reservoirs.rogun.enabled=false\"] }")])
    return {str(name): [parse_set(x) for x in settings] for name, settings in raw.items()}


def combinations(projects: dict) -> list[tuple[str, ...]]:
    """Every subset of the projects that is on, from none to all, in a stable order."""
    names = list(projects)
    return [c for k in range(len(names) + 1) for c in itertools.combinations(names, k)]


def label(on: tuple[str, ...]) -> str:
    return "+".join(on) if on else "none"


def _season_km3(flow: xr.DataArray, mask: xr.DataArray, months: tuple[int, ...]) -> float:
    """Mean volume per season (km3) of `flow` (member, time; hm3) in the calendar `months`, over the masked cells
    (`mask` carries the water_year coordinate a season is counted by)."""
    in_season = mask & flow.time.dt.month.isin(list(months))
    seasons = int(in_season.groupby(mask.water_year).any("time").sum())
    return float(flow.where(in_season).sum()) / 1000.0 / max(seasons, 1)


def quantities(ds: xr.Dataset, period: str) -> dict[str, float]:
    """The figures of :data:`QUANTITIES` for one run over `period` ("all years" or "dry years")."""
    table = state_summary(ds, "all" if period == "all years" else period)
    out = {f"{s}_shortfall_km3": float(table.loc[s, "shortfall_km3"]) if s in table.index else np.nan for s in ("UZB", "TKM")}
    out["UZB_TKM_shortfall_km3"] = out["UZB_shortfall_km3"] + out["TKM_shortfall_km3"]
    mask = period_mask(ds, "all" if period == "all years" else period)
    flow = ds.flow.sel(node="kerki")
    out["kerki_apr_sep_km3"] = _season_km3(flow, mask, (4, 5, 6, 7, 8, 9))
    out["kerki_oct_mar_km3"] = _season_km3(flow, mask, WINTER_MONTHS)
    energy = monthly(ds)
    plants = [p for p in (energy.plant.values if "plant" in energy.dims else []) if _state_of(ds, p) == "TJK"]
    out["TJK_winter_energy_twh"] = (_season_km3(energy.energy_gwh.sel(plant=plants).sum("plant"), mask, WINTER_MONTHS)
                                    if plants else np.nan)  # GWh / 1000 = TWh, as hm3 / 1000 = km3
    return out


def _state_of(ds: xr.Dataset, node: str) -> str:
    return str(ds.state.sel(node=node).item()) if "state" in ds.coords else ""


def attribute(run_file, overrides=None, projects: dict | None = None, runner=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Run `run_file` once per combination of its projects on and off; returns (values: one row per combination,
    period and quantity; effects: one row per period and quantity with the run with no project, each project
    alone, all together and their interaction; provenance)."""
    from hydro.progress import bar
    from hydro.runner import run_scenario

    overrides = list(overrides or [])
    base = load_scenario(run_file, overrides)
    if projects is None:
        projects = projects_of(base.doc.get("attribution", {}).get("projects"), str(run_file))
    runner = runner or run_scenario
    rows = []
    combos = combinations(projects)
    progress = bar(len(combos), "attribute", "run")
    for on in combos:
        off = [setting for name, settings in projects.items() if name not in on for setting in settings]
        ds = runner(load_scenario(run_file, [*overrides, *off]))
        if "year_type" not in ds.coords or not (ds.year_type == "dry").any():
            periods = ("all years",)
        else:
            periods = PERIODS
        for period in periods:
            for name, value in quantities(ds, period).items():
                rows.append({"combination": label(on), "period": period, "quantity": name, "value": value})
        progress.update(1)
    progress.close()
    values = pd.DataFrame(rows)
    wide = values.pivot_table(index=["period", "quantity"], columns="combination", values="value", sort=False, dropna=False)
    effects = pd.DataFrame(index=wide.index)
    effects["without_projects"] = wide["none"]
    for name in projects:
        effects[f"{name}_alone"] = wide[name] - wide["none"]
    everything = label(tuple(projects))
    if len(projects) > 1:
        effects["all_together"] = wide[everything] - wide["none"]
        effects["interaction"] = effects["all_together"] - sum(effects[f"{n}_alone"] for n in projects)
    effects[f"{everything}_pct"] = 100.0 * (wide[everything] - wide["none"]) / wide["none"].where(wide["none"].abs() > 1e-9)
    provenance = {"run_file": str(run_file), "overrides": overrides, "projects": {k: [f"{a}={b}" for a, b in v] for k, v in projects.items()},
                  "basin": str(base.basin_path), "members": base.members, "years": base.axis.months // 12,
                  "quantities": QUANTITIES}
    return values, effects.reset_index(), json.loads(json.dumps(provenance, default=str))
