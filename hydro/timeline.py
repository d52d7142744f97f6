"""A timeline: shortfall and leverage year by year as Qosh Tepa is built out, the climate shifts and Rogun fills.

One transient run of the run file (its ``qosh_tepa.build_out``, ``hydrology.trend`` and Rogun filling, if set),
and the same run without Qosh Tepa on the same members, give for every reported water year:

- Qosh Tepa's withdrawal (km3/yr), and the flow at Kerki (km3/yr, after the use upstream);
- each downstream state's shortfall in % of its demand, and what Qosh Tepa adds to it (with less without,
  member by member), UZB and TKM together too;
- the share of members whose year is dry (the stationary definition: natural flow at Kerki exceeded in >= 75 %
  of the basin's years, so a drying climate makes more years dry);
- each state's leverage score (``hydro.leverage``): the water dimension from that year's losses (all members and the
  dry ones), Tajikistan's electricity from that year's summer surplus, the other indicators as in leverage.toml.

Every figure has the members' mean and 5-95 % band (the score's band: the score with each member's own water
exposure). :func:`changes` lists the years in which the ranking changes and in which the UZB + TKM shortfall first
crosses each threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hydro import leverage
from hydro.metrics import of_kind

DOWNSTREAM = ("UZB", "TKM")


def _by_year(da, water_year) -> np.ndarray:
    """(member, year) sums of `da` (member, time) over each water year, hm3 -> km3."""
    return da.groupby(water_year).sum("time").transpose("member", "water_year").values / 1000.0


def state_years(ds) -> tuple[np.ndarray, dict, dict]:
    """The complete water years of `ds` and, per state with offtakes, its (member, year) demand and shortfall (km3)."""
    wy = ds.water_year
    counts = wy.groupby(wy).count()
    complete = counts.water_year.values[counts.values == 12]
    off = of_kind(ds, "offtake")
    demand, short = {}, {}
    for state in sorted(set(off.state.values.tolist()) - {""}):
        sel = off.isel(node=np.flatnonzero(off.state.values == state))
        years = sel.water_year
        demand[state] = _by_year(sel.demand.sum("node"), years)[:, np.isin(np.unique(years), complete)]
        short[state] = _by_year(sel.shortfall.sum("node"), years)[:, np.isin(np.unique(years), complete)]
    return complete, demand, short


def _band(values: np.ndarray) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return np.nan, np.nan, np.nan
    return float(v.mean()), float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95))


def timeline(with_ds, without_ds, data: leverage.LeverageData, network) -> pd.DataFrame:
    """Per water year and quantity (and state): mean, p05, p95 over the members (module docstring). Long format:
    water_year, quantity, state, unit, mean, p05, p95."""
    years, demand, short = state_years(with_ds)
    _, _, short0 = state_years(without_ds)
    wy = with_ds.water_year
    keep = np.isin(np.unique(wy.values), years)
    qt = _by_year(with_ds.withdrawal.sel(node="qosh_tepa"), wy)[:, keep] if "qosh_tepa" in with_ds.node.values else np.zeros((with_ds.sizes["member"], len(years)))
    kerki = _by_year(with_ds.inflow.sel(node="kerki"), wy)[:, keep] if "kerki" in with_ds.node.values else None
    dry_month = (with_ds.year_type == "dry").transpose("member", "time")
    dry = dry_month.groupby(wy).any("time").transpose("member", "water_year").values[:, keep]
    dependence = leverage.afghan_dependence(network)
    rows = []

    def add(year, quantity, state, unit, values, band=True):
        mean, p05, p95 = _band(values)
        if not band:  # a share of members: its band would be 0 to 1
            p05 = p95 = np.nan
        rows.append({"water_year": int(year), "quantity": quantity, "state": state, "unit": unit, "mean": mean, "p05": p05, "p95": p95})

    for k, year in enumerate(years):
        add(year, "qosh_tepa_withdrawal", "AFG", "km3/yr", qt[:, k])
        if kerki is not None:
            add(year, "kerki_flow", "", "km3/yr", kerki[:, k])
        add(year, "dry_member_share", "", "1", dry[:, k].astype(float), band=False)
        for state in [*DOWNSTREAM, "UZB+TKM"]:
            parts = DOWNSTREAM if state == "UZB+TKM" else (state,)
            d = sum(demand[s][:, k] for s in parts if s in demand)
            s_with = sum(short[s][:, k] for s in parts if s in short)
            s_without = sum(short0[s][:, k] for s in parts if s in short0)
            add(year, "shortfall_pct", state, "%", 100.0 * s_with / d)
            add(year, "qosh_tepa_added_pct", state, "%", 100.0 * (s_with - s_without) / d)
        # leverage: that year's losses (all members; the dry ones where there are), that year's electricity
        months = np.flatnonzero(wy.values == year)
        data_year, _ = leverage.computed_data(data, with_ds.isel(time=months))
        per_member = []
        for m in [None, *range(with_ds.sizes["member"])]:
            loss_rows = []
            for s in data.states:
                if s not in demand:
                    loss_rows.append({"state": s, "demand_km3": 0.0, "qt_loss_mean": 0.0, "qt_loss_dry": 0.0})
                    continue
                added = (short[s][:, k] - short0[s][:, k]) / np.maximum(demand[s][:, k], 1e-12)
                if m is None:
                    mean = float(added.mean())
                    dry_loss = float(added[dry[:, k]].mean()) if dry[:, k].any() else mean
                else:
                    mean = dry_loss = float(added[m])
                loss_rows.append({"state": s, "demand_km3": float(demand[s][:, k].mean()), "qt_loss_mean": max(mean, 0.0),
                                  "qt_loss_dry": max(dry_loss, 0.0)})
            losses = pd.DataFrame(loss_rows).set_index("state")
            table = leverage.scores(data_year, leverage.water_dimension(losses, dependence, data.full_exposure_share.value))
            if m is None:
                central = table
            else:
                per_member.append(table.score)
        spread = pd.DataFrame(per_member)
        for s in data.states:
            lo, hi = (float(np.quantile(spread[s], q)) for q in (0.05, 0.95))
            rows.append({"water_year": int(year), "quantity": "leverage_score", "state": s, "unit": "0-1",
                         "mean": float(central.loc[s, "score"]), "p05": lo, "p95": hi})
            rows.append({"water_year": int(year), "quantity": "leverage_rank", "state": s, "unit": "rank",
                         "mean": float(central.loc[s, "rank"]), "p05": np.nan, "p95": np.nan})
    return pd.DataFrame(rows)


TIE = 0.01  # leverage scores closer than this tie in a ranking: below the resolution of the 0-1 judgements behind them


def changes(table: pd.DataFrame, thresholds_pct=(5.0, 10.0, 15.0)) -> list[str]:
    """The years the leverage ranking changes from the year before (scores within :data:`TIE` tie), and the first
    year the UZB + TKM shortfall (mean over the members) and Qosh Tepa's addition to it reach each threshold; one
    line each."""
    lines = []
    scores = table[table.quantity == "leverage_score"].pivot(index="water_year", columns="state", values="mean")
    previous = None
    for year in scores.index:
        text = leverage.ranking_text(scores.loc[year].to_frame("score"), TIE)
        if previous is not None and text != previous:
            lines.append(f"{year}: the leverage ranking changes from {previous} to {text}")
        previous = text
    for quantity, what in (("shortfall_pct", "UZB + TKM shortfall"), ("qosh_tepa_added_pct", "what Qosh Tepa adds to it")):
        series = table[(table.quantity == quantity) & (table.state == "UZB+TKM")].set_index("water_year")["mean"]
        for x in thresholds_pct:
            above = series.index[series >= x]
            lines.append(f"{what} reaches {x:g} % of demand in {above[0]}" if len(above) else f"{what} stays below {x:g} % of demand")
    return lines


def run_timeline(run_file, overrides: list) -> tuple[pd.DataFrame, int]:
    """The run file as written and without Qosh Tepa on the same members (plants kept for their energy), read
    into :func:`timeline` with the basin's leverage indicators; returns (the table, the simulations made)."""
    from hydro import negotiation
    from hydro.results import saved_network

    evaluator = negotiation.Evaluator(run_file, overrides)
    with_ds = evaluator.run([], keep_plants=True)
    without_ds = evaluator.run([(negotiation.QT_KEY, 0.0)])
    data = leverage.load_leverage(evaluator.base.basin_path / "leverage.toml")
    return timeline(with_ds, without_ds, data, saved_network(with_ds)), evaluator.simulations
