"""Figures computed from a results Dataset: annual means per state, flows at named nodes, seasonal shares.

Inputs are hm3 per month; outputs are km3 per year (annual mean over the run's whole years) and percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

STATE_ORDER = ("AFG", "TJK", "UZB", "TKM")
PERIODS = ("all", "dry years", "normal years", "wet years", "growing season")  # the periods of every summary table


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


def of_kind(ds: xr.Dataset, kind: str) -> xr.Dataset:
    """The nodes of one kind ("offtake", "terminal", ...), selected without copying the rest."""
    return ds.isel(node=np.flatnonzero(ds.kind.values == kind))


def period_mask(ds: xr.Dataset, period: str) -> xr.DataArray:
    """True on the (member, time) cells of `period`: "all", "dry years", "normal years", "wet years" (by the
    ``year_type`` coordinate), "growing season" (April-September) or "dry growing season" (both)."""
    everything = xr.ones_like(ds.member, dtype=bool) * xr.ones_like(ds.time, dtype=bool)
    if period == "all":
        return everything
    if period in ("dry years", "normal years", "wet years"):
        if "year_type" not in ds.coords:
            raise ValueError("the results have no year_type coordinate")
        return everything & (ds.year_type == period.split()[0])
    if period in ("growing season", "dry growing season"):
        season = everything & (ds.growing_season == 1)
        return season & period_mask(ds, "dry years") if period.startswith("dry") else season
    raise ValueError(f"period {period!r}: expected one of {(*PERIODS, 'dry growing season')}")


def member_years(ds: xr.Dataset, mask: xr.DataArray) -> int:
    """How many (member, water year) pairs have a month in `mask`."""
    return int(member_years_each(ds, mask).sum())


def _compute_all(lazy: dict[str, xr.DataArray]) -> dict[str, float]:
    """The scalars in `lazy`, computed together: a lazily opened file is read once for all of them."""
    if not lazy:
        return {}
    done = xr.Dataset({k: v.reset_coords(drop=True) for k, v in lazy.items()}).compute()
    return {k: float(done[k]) for k in lazy}


def state_summary(ds: xr.Dataset, period: str = "all") -> pd.DataFrame:
    """Per state: mean demand, withdrawal and shortfall per year (km3/yr; for the growing season, per season) and the
    shortfall in % of demand, over the member-years of `period`. Empty when the run has none."""
    return state_summaries(ds, [period])[period]


BAND = (0.05, 0.95)  # the band every summary gives: 5th and 95th percentiles over members


def state_summaries(ds: xr.Dataset, periods) -> dict[str, pd.DataFrame]:
    """:func:`state_summary` for several periods, read in one pass (a lazily opened file is decompressed once).

    Besides the central values (over every member-year of the period) each table gives a 5-95 % band: the 5th and
    95th percentiles over the members of each member's own mean (columns suffixed ``_p05`` and ``_p95``), and how
    much of the variance of the members' shortfall comes from the parameter sets (``shortfall_from_parameters_pct``;
    the rest, ``shortfall_from_hydrology_pct``, from the hydrological members; see :func:`variance_shares`)."""
    offtakes = of_kind(ds, "offtake")
    present = set(offtakes.state.values)
    states = [s for s in STATE_ORDER if s in present] + sorted(present - set(STATE_ORDER))
    masks = {p: period_mask(ds, p) for p in periods}
    counts = {p: member_years_each(ds, masks[p]) for p in periods}
    lazy = {}
    for p in periods:
        if counts[p].sum() == 0:
            continue
        for s in states:
            sel = offtakes.isel(node=np.flatnonzero(offtakes.state.values == s))
            for v in ("demand", "withdrawal", "shortfall"):
                lazy[f"{p}|{s}|{v}"] = sel[v].sum("node").where(masks[p], 0.0).sum("time")
    totals = _compute_arrays(lazy)
    groups = member_groups(ds)
    out = {}
    for p in periods:
        n = counts[p]
        if n.sum() == 0:
            out[p] = pd.DataFrame(columns=SUMMARY_COLUMNS, index=pd.Index([], name="state"))
            continue
        has = n > 0
        rows = []
        for s in states:
            demand, withdrawal, shortfall = (totals[f"{p}|{s}|{v}"] / 1000.0 for v in ("demand", "withdrawal", "shortfall"))
            row = {"state": s}
            for name, values in (("demand_km3", demand), ("withdrawal_km3", withdrawal), ("shortfall_km3", shortfall)):
                row[name] = float(values.sum() / n.sum())
            row["shortfall_pct"] = 100.0 * row["shortfall_km3"] / row["demand_km3"] if row["demand_km3"] > 0 else 0.0
            each = {"withdrawal_km3": withdrawal[has] / n[has], "shortfall_km3": shortfall[has] / n[has],
                    "shortfall_pct": np.where(demand[has] > 0, 100.0 * shortfall[has] / np.where(demand[has] > 0, demand[has], 1.0), 0.0)}
            bands = {name: band(values, groups[has]) for name, values in each.items()}
            for name, b in bands.items():
                row[f"{name}_p05"], row[f"{name}_p95"] = b["p05"], b["p95"]
            row["shortfall_from_parameters_pct"] = bands["shortfall_km3"]["from_parameters_pct"]
            row["shortfall_from_hydrology_pct"] = bands["shortfall_km3"]["from_hydrology_pct"]
            rows.append(row)
        out[p] = pd.DataFrame(rows, columns=["state", *SUMMARY_COLUMNS]).set_index("state")
    return out


SUMMARY_COLUMNS = ["demand_km3", "withdrawal_km3", "shortfall_km3", "shortfall_pct",
                   "withdrawal_km3_p05", "withdrawal_km3_p95", "shortfall_km3_p05", "shortfall_km3_p95",
                   "shortfall_pct_p05", "shortfall_pct_p95", "shortfall_from_parameters_pct", "shortfall_from_hydrology_pct"]


def variance_shares(values: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Shares of the variance of `values` between the `groups` (parameter sets) and within them (hydrological
    members): the law of total variance, (between, within) / total; (nan, nan) when nothing varies beyond a
    millionth of the values' scale (the rounding of float32 results)."""
    values = np.asarray(values, dtype=float)
    total = float(values.var()) if len(values) else 0.0
    if np.sqrt(total) <= 1e-6 * max(1.0, float(np.abs(values).max(initial=0.0))):  # float32 rounding is not a spread
        return np.nan, np.nan
    _, index = np.unique(groups, return_inverse=True)
    means = np.bincount(index, values) / np.bincount(index)
    within = float(np.mean((values - means[index]) ** 2))
    return (total - within) / total, within / total


def member_shortfall(ds: xr.Dataset, states, period: str = "all") -> np.ndarray:
    """Each member's mean annual shortfall of `states` together (km3/yr) over its water years of `period`; nan for a
    member with no such year."""
    off = of_kind(ds, "offtake")
    sel = off.isel(node=np.flatnonzero(np.isin(off.state.values, list(states))))
    mask = period_mask(ds, period)
    total = np.asarray(sel.shortfall.sum("node").where(mask, 0.0).sum("time").transpose("member").values, dtype=float)
    n = member_years_each(ds, mask)
    return np.where(n > 0, total / np.where(n > 0, n, 1.0), np.nan) / 1000.0


def band(values: np.ndarray, groups: np.ndarray | None = None) -> dict[str, float]:
    """Central value (mean), 5-95 % band and the share of the variance from the `groups` (parameter sets) of a
    member-level figure; members with nan are left out."""
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    groups = np.zeros(len(values), dtype=int) if groups is None else np.asarray(groups)
    if not keep.any():
        return {"mean": np.nan, "p05": np.nan, "p95": np.nan, "from_parameters_pct": np.nan, "from_hydrology_pct": np.nan}
    p05, p95 = np.quantile(values[keep], BAND)
    between, within = variance_shares(values[keep], groups[keep])
    return {"mean": float(values[keep].mean()), "p05": float(p05), "p95": float(p95),
            "from_parameters_pct": 100.0 * between, "from_hydrology_pct": 100.0 * within}


def member_groups(ds: xr.Dataset) -> np.ndarray:
    """The parameter set of each member (all 0 when the run has none)."""
    return ds.parameter_set.values if "parameter_set" in ds.coords else np.zeros(ds.sizes["member"], dtype=int)


def member_years_each(ds: xr.Dataset, mask: xr.DataArray) -> np.ndarray:
    """How many water years of each member have a month in `mask` (member,)."""
    m = mask.transpose("member", "time").values
    wy = ds.water_year.values
    return np.array([len(np.unique(wy[row])) for row in m], dtype=float)


def _compute_arrays(lazy: dict[str, xr.DataArray]) -> dict[str, np.ndarray]:
    """The arrays in `lazy` computed together (a lazily opened file is read once for all of them)."""
    if not lazy:
        return {}
    done = xr.Dataset({k: v.reset_coords(drop=True) for k, v in lazy.items()}).compute()
    return {k: np.asarray(done[k].values, dtype=float) for k in lazy}


def offtake_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Per offtake: state, province, annual mean demand, withdrawal and shortfall (km3/yr) and shortfall %."""
    off = of_kind(ds, "offtake")
    means = xr.Dataset({v: annual_km3(off[v]) for v in ("demand", "withdrawal", "shortfall")}).compute()  # one pass (same node coordinates)
    demand, withdrawal, shortfall = (means[v].to_series() for v in ("demand", "withdrawal", "shortfall"))
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
    term = of_kind(ds, "terminal")
    lazy = {}
    for node in term.node.values:
        lazy[f"{node}|inflow"] = annual_km3(term.inflow.sel(node=node))
        lazy[f"{node}|req"] = annual_km3(term.requirement.sel(node=node))
        lazy[f"{node}|unmet"] = annual_km3(np.maximum(term.requirement.sel(node=node) - term.inflow.sel(node=node), 0))
    values = _compute_all(lazy)
    rows = [{"terminal": str(node), "inflow_km3": float(values[f"{node}|inflow"]), "requirement_km3": float(values[f"{node}|req"]),
             "requirement_shortfall_km3": float(values[f"{node}|unmet"])} for node in term.node.values]
    return pd.DataFrame(rows).set_index("terminal")


def monthly_shortfall_by_state(ds: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Shortfall (member-mean) per state and month of the run, hm3: dims (time, state)."""
    off = of_kind(ds, "offtake").shortfall
    return off.mean("member").groupby("state").sum("node")


def node_annual_km3(ds: xr.Dataset, variable: str, node: str) -> float:
    """Annual mean of `variable` at `node`, km3/yr."""
    return float(annual_km3(ds[variable].sel(node=node)))


def performance(shortfall: np.ndarray, demand: np.ndarray, tolerance: float = 1e-6) -> dict[str, float]:
    """Reliability, resilience and vulnerability of one monthly series (Hashimoto, Stedinger and Loucks, 1982,
    Water Resources Research 18(1), 14-20).

    A month fails when its shortfall exceeds `tolerance` x its demand (a share, default: any shortfall at all).
    - reliability: share of months that do not fail;
    - resilience: failed months followed by a month that does not fail, over all failed months (1 when nothing
      fails; the run's last month counts as failed-and-not-recovered if it fails);
    - vulnerability: mean over failure events (runs of consecutive failed months) of the event's largest monthly
      shortfall as a share of that month's demand.
    """
    shortfall, demand = np.asarray(shortfall, dtype=float), np.asarray(demand, dtype=float)
    fail = shortfall > tolerance * np.maximum(demand, 0.0) + 1e-12
    n = len(fail)
    if n == 0:
        return {"reliability": np.nan, "resilience": np.nan, "vulnerability": np.nan}
    reliability = 1.0 - fail.mean()
    if not fail.any():
        return {"reliability": reliability, "resilience": 1.0, "vulnerability": 0.0}
    recoveries = np.sum(fail[:-1] & ~fail[1:])
    resilience = recoveries / fail.sum()
    share = np.where(demand > 0, shortfall / np.where(demand > 0, demand, 1.0), 0.0)
    worst, events, current = [], False, 0.0
    for f, s in zip(fail, share):
        if f:
            current = max(current, s) if events else s
            events = True
        elif events:
            worst.append(current)
            events = False
    if events:
        worst.append(current)
    return {"reliability": float(reliability), "resilience": float(resilience), "vulnerability": float(np.mean(worst))}


def state_performance(ds: xr.Dataset) -> pd.DataFrame:
    """Per state: reliability, resilience and vulnerability of its monthly supply (all its offtakes together), the
    mean over members."""
    off = of_kind(ds, "offtake")
    rows = []
    for state in [s for s in STATE_ORDER if s in set(off.state.values)]:
        sel = off.isel(node=np.flatnonzero(off.state.values == state))
        short = sel.shortfall.sum("node").transpose("member", "time").values
        demand = sel.demand.sum("node").transpose("member", "time").values
        per_member = [performance(short[m], demand[m]) for m in range(short.shape[0])]
        rows.append({"state": state, **{k: float(np.mean([p[k] for p in per_member])) for k in ("reliability", "resilience", "vulnerability")}})
    return pd.DataFrame(rows).set_index("state")


def annual_shortfall(ds: xr.Dataset, state: str) -> np.ndarray:
    """Shortfall of `state` in every complete member-water-year, km3/yr (flat array)."""
    off = of_kind(ds, "offtake")
    sel = off.isel(node=np.flatnonzero(off.state.values == state)).shortfall.sum("node")
    yearly = sel.groupby(ds.water_year).sum("time")
    counts = ds.water_year.groupby(ds.water_year).count()
    complete = counts.water_year.values[counts.values == 12]
    return (yearly.sel(water_year=complete).values / 1000.0).ravel()


def exceedance_curve(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exceedance probability, values sorted from largest): Weibull plotting positions i / (n + 1)."""
    v = np.sort(np.asarray(values, dtype=float).ravel())[::-1]
    return np.arange(1, len(v) + 1) / (len(v) + 1), v


def storage_envelope(ds: xr.Dataset, node: str, q=(5, 50, 95)) -> xr.DataArray:
    """Percentiles of storage over members at `node` per month, km3: dims (quantile, time)."""
    return ds.storage.sel(node=node).quantile(np.array(q) / 100.0, dim="member") / 1000.0


M3S_PER_HM3_DAY = 1e6 / 86400.0  # 1 hm3/day in m3/s


def discharge_m3s(volume: xr.DataArray, days: xr.DataArray) -> xr.DataArray:
    """Monthly volumes (hm3) as mean discharges (m3/s)."""
    return volume / days * M3S_PER_HM3_DAY


def exceeded_m3s(volume: xr.DataArray, days: xr.DataArray, exceedance: float = 0.95) -> float:
    """The monthly mean discharge (m3/s) exceeded in `exceedance` of the member-months of `volume` (hm3 per month,
    dims member and time): the 95 % low flow by default."""
    q = discharge_m3s(volume, days).values.ravel()
    return float(np.quantile(q, 1.0 - exceedance))


def head_share(ds: xr.Dataset, node: str) -> pd.DataFrame:
    """Per calendar month: the offtake's mean withdrawal and the river arriving at its head (km3 in that month,
    member and year mean) and the withdrawal as a share of that river, %."""
    month = ds.time.dt.month
    taken = ds.withdrawal.sel(node=node).groupby(month).mean(("member", "time")) / 1000.0
    river = ds.inflow.sel(node=node).groupby(month).mean(("member", "time")) / 1000.0
    table = pd.DataFrame({"withdrawal_km3": taken.to_series(), "river_at_head_km3": river.to_series()})
    table["share_pct"] = (100.0 * table.withdrawal_km3 / table.river_at_head_km3.where(table.river_at_head_km3 > 0)).fillna(0.0)
    table.index.name = "month"
    return table
