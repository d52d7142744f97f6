"""Figures computed from a results Dataset: annual means per state, flows at named nodes, seasonal shares.

Inputs are hm3 per month; outputs are km3 per year (annual mean over the run's whole years) and percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

STATE_ORDER = ("AFG", "TJK", "UZB", "TKM")
DRY_FRACTION_OF_NORM = 0.9  # a water year is dry when its natural inflow is below 90 % of the mean year
PERIODS = ("all", "dry years", "growing season")


def years(ds: xr.Dataset | xr.DataArray) -> float:
    """Length of the data in years (months / 12)."""
    return ds.sizes["time"] / 12.0


def annual_km3(da: xr.DataArray, n_years: float | None = None) -> xr.DataArray:
    """Mean annual volume in km3/yr of a (member, time, ...) hm3 array, averaged over members; `n_years` is the
    number of years the data stand for (months / 12 when not given)."""
    total = da.sum("time")
    if "member" in total.dims:
        total = total.mean("member")
    return total / (n_years if n_years is not None else years(da)) / 1000.0


def dry_water_years(ds: xr.Dataset) -> list[int]:
    """Complete water years whose natural inflow (member mean) is below DRY_FRACTION_OF_NORM of the basin's mean
    year (attribute ``natural_norm_km3``; ICWC speaks of water availability in % of norm)."""
    norm = float(ds.attrs.get("natural_norm_km3", np.nan))
    annual = ds.natural_inflow.sum("node").mean("member").groupby(ds.water_year)
    totals, counts = annual.sum() / 1000.0, annual.count()
    return [int(y) for y, v, n in zip(totals.water_year.values, totals.values, counts.values) if n == 12 and v < DRY_FRACTION_OF_NORM * norm]


def select_period(ds: xr.Dataset, period: str) -> xr.Dataset | None:
    """The months of `period` ("all", "dry years", "growing season"); None when the run has none."""
    if period == "all":
        return ds
    if period == "dry years":
        years = dry_water_years(ds)
        return ds.sel(time=ds.water_year.isin(years)) if years else None
    if period == "growing season":
        return ds.sel(time=ds.growing_season == 1)
    raise ValueError(f"period {period!r}: expected one of {PERIODS}")


def state_summary(ds: xr.Dataset, period: str = "all") -> pd.DataFrame:
    """Per state: mean demand, withdrawal and shortfall (km3 per year, or per growing season) and shortfall as %
    of demand, over `period`. Empty when the run has no month of that period."""
    ds = select_period(ds, period)
    if ds is None:
        return pd.DataFrame(columns=["demand_km3", "withdrawal_km3", "shortfall_km3", "shortfall_pct"], index=pd.Index([], name="state"))
    # per year: a growing season lies within one water year; dry years are whole water years
    n_years = years(ds) if period == "all" else float(len(np.unique(ds.water_year.values)))
    offtakes = ds.where(ds.kind == "offtake", drop=True)
    rows = []
    states = [s for s in STATE_ORDER if s in set(offtakes.state.values)] + sorted(set(offtakes.state.values) - set(STATE_ORDER))
    for s in states:
        sel = offtakes.sel(node=offtakes.state == s)
        demand = float(annual_km3(sel.demand.sum("node"), n_years))
        withdrawal = float(annual_km3(sel.withdrawal.sum("node"), n_years))
        shortfall = float(annual_km3(sel.shortfall.sum("node"), n_years))
        rows.append({
            "state": s,
            "demand_km3": demand,
            "withdrawal_km3": withdrawal,
            "shortfall_km3": shortfall,
            "shortfall_pct": 100.0 * shortfall / demand if demand > 0 else 0.0,
        })
    return pd.DataFrame(rows).set_index("state")


def offtake_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Per offtake: state, province, annual mean demand, withdrawal and shortfall (km3/yr) and shortfall %."""
    off = ds.where(ds.kind == "offtake", drop=True)
    demand = annual_km3(off.demand).to_series()
    withdrawal = annual_km3(off.withdrawal).to_series()
    shortfall = annual_km3(off.shortfall).to_series()
    table = pd.DataFrame({
        "state": off.state.to_series(),
        "province": off.province.to_series(),
        "demand_km3": demand,
        "withdrawal_km3": withdrawal,
        "shortfall_km3": shortfall,
        "shortfall_pct": (100.0 * shortfall / demand.where(demand > 0)).fillna(0.0),
    })
    table.index.name = "offtake"
    return table


def terminal_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Per terminal: annual mean inflow and requirement (km3/yr), and the requirement's shortfall."""
    term = ds.where(ds.kind == "terminal", drop=True)
    rows = []
    for node in term.node.values:
        inflow = float(annual_km3(term.inflow.sel(node=node)))
        req = float(annual_km3(term.requirement.sel(node=node)))
        unmet = float(annual_km3(np.maximum(term.requirement.sel(node=node) - term.inflow.sel(node=node), 0)))
        rows.append({"terminal": str(node), "inflow_km3": inflow, "requirement_km3": req, "requirement_shortfall_km3": unmet})
    return pd.DataFrame(rows).set_index("terminal")


def monthly_shortfall_by_state(ds: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Shortfall (member-mean) per state and month of the run, hm3: dims (time, state)."""
    off = ds.shortfall.where(ds.kind == "offtake", drop=True)
    return off.mean("member").groupby("state").sum("node")


def node_annual_km3(ds: xr.Dataset, variable: str, node: str) -> float:
    """Annual mean of `variable` at `node`, km3/yr."""
    return float(annual_km3(ds[variable].sel(node=node)))
