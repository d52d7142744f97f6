"""Hindcast: the recorded years replayed and every published figure set against the model.

The basin's ``recorded_figures`` CSV lists published figures (km3) of recorded years, each with its source:
``figure, year, period, value_km3, source, note``. For every year the basin can replay (``historical_years``), the
hindcast runs the run file with ``hydrology.kind = "historical"`` over two calendar years, the recorded year
before it as spin-up (the year itself when the one before is not recorded), and measures each figure in the
second year. A figure of a year that cannot be replayed is listed with no simulated value and its reason.

Figures (:data:`FIGURES`; periods ``annual`` (the calendar year), ``jan_mar``, ``apr_sep``, ``oct_dec`` and, for
storage, ``jan1``):

- ``nominal_kerki``: natural flow above Kerki (the yearbooks' Nominal Kerki, upstream of the Karakum canal);
- ``nurek_inflow``, ``nurek_release``; ``tuyamuyun_inflow``, ``tuyamuyun_release``: what enters and leaves;
- ``storage_jan1``: Nurek and Tuyamuyun together at the start of the year;
- ``withdrawal_<STATE>``: what the state's offtakes take;
- ``delta_inflow``: what reaches the Aral Sea terminal.

``relative_error = (simulated - published) / published``; ``role`` is ``validation`` for the held-out years
(the run file's ``hindcast.validate``, 2024 by default), ``calibration`` otherwise, ``input`` for the figures the
replay is built from (:data:`INPUTS`: the flow at Kerki) and ``not replayed`` where the year cannot be replayed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hydro.errors import Problem, ScenarioError, did_you_mean

if TYPE_CHECKING:  # pandas and xarray load when a hindcast runs, so that hydro validate can check the CSV quickly
    import pandas as pd
    import xarray as xr

PERIODS = {"annual": list(range(1, 13)), "jan_mar": [1, 2, 3], "apr_sep": [4, 5, 6, 7, 8, 9], "oct_dec": [10, 11, 12], "jan1": []}
COLUMNS = ("figure", "year", "period", "value_km3", "source")
STATES = ("AFG", "TJK", "UZB", "TKM")


def _flow(ds: xr.Dataset, variable: str, nodes: list[str]) -> xr.DataArray:
    return ds[variable].sel(node=nodes).sum("node")


def _nominal_kerki(ds, network):
    from hydro.hydrology import forecast_columns

    nodes = [network.names[network.inflow_idx[k]] for k in forecast_columns(network)]
    return _flow(ds, "natural_inflow", nodes)


def _withdrawal(state: str):
    def measure(ds, network):
        nodes = [n for n, s, k in zip(network.names, network.state, network.kind_name) if k == "offtake" and s == state]
        return _flow(ds, "withdrawal", nodes)
    return measure


FIGURES = {
    "nominal_kerki": ("natural flow above Kerki", _nominal_kerki),
    "nurek_inflow": ("inflow to Nurek", lambda ds, net: _flow(ds, "inflow", ["nurek"]) + _flow(ds, "natural_inflow", ["nurek"])),
    "nurek_release": ("release and spill of Nurek", lambda ds, net: _flow(ds, "flow", ["nurek"])),
    "tuyamuyun_inflow": ("inflow to Tuyamuyun", lambda ds, net: _flow(ds, "inflow", ["tuyamuyun"])),
    "tuyamuyun_release": ("release and spill of Tuyamuyun", lambda ds, net: _flow(ds, "flow", ["tuyamuyun"])),
    "storage_jan1": ("storage of Nurek and Tuyamuyun on 1 January", None),  # measured apart: a state, not a volume over time
    "delta_inflow": ("inflow to the Aral Sea delta", lambda ds, net: _flow(ds, "inflow", ["aral_sea"])),
    **{f"withdrawal_{s}": (f"withdrawal of {s}", _withdrawal(s)) for s in STATES},
}


# figures the replay is built from: their rows check the basin's norm, not the model (role "input", no skill)
INPUTS = {"nominal_kerki": "the replay is built from this year's published flow at Kerki (% of norm, or volumes): "
                           "the row checks the basin's norm, not the model",
          "nurek_inflow": "the replay gives the Vakhsh this year's published inflow to Nurek (annual, and Apr-Sep where "
                          "published): the row checks the replay, not the model"}


@dataclass
class Recorded:
    """One published figure: name, calendar year, period, value (km3), source key, note."""

    figure: str
    year: int
    period: str
    value_km3: float
    source: str
    note: str


def load_recorded(basin) -> list[Recorded]:
    """The basin's recorded_figures CSV, checked: every problem at once, naming the file, line and column."""
    path = basin.files.get("recorded_figures")
    if path is None:
        raise ScenarioError([Problem(str(basin.path / "basin.toml"), "recorded_figures", "<missing>",
                                     "the name of a CSV of published figures beside basin.toml (figure, year, period, value_km3, source, note)")])
    try:
        reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"), newline=""))
        rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ScenarioError([Problem(str(path), "<file>", f"<{getattr(err, 'strerror', None) or err}>", "a readable UTF-8 CSV with a header row")]) from None
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ScenarioError([Problem(str(path), "<header>", reader.fieldnames, f"columns {list(COLUMNS)} and note; missing {missing}")])
    problems, out, seen = [], [], set()
    for lineno, row in enumerate(rows, start=2):
        where = f"line {lineno}"
        figure, period, source = ((row.get(k) or "").strip() for k in ("figure", "period", "source"))
        if figure not in FIGURES:
            problems.append(Problem(str(path), f"{where}.figure", figure, "a figure the hindcast measures: " + did_you_mean(figure, FIGURES)))
            continue
        if period not in PERIODS or (period == "jan1") != (figure == "storage_jan1"):
            expected = "jan1" if figure == "storage_jan1" else did_you_mean(period, [p for p in PERIODS if p != "jan1"])
            problems.append(Problem(str(path), f"{where}.period", period, f"a period of {figure}: {expected}"))
            continue
        try:
            year, value = int(row["year"]), float(row["value_km3"])
        except (TypeError, ValueError):
            problems.append(Problem(str(path), where, [row.get("year"), row.get("value_km3")], "a calendar year and a volume in km3"))
            continue
        if not (np.isfinite(value) and 0 < value < 1000):
            problems.append(Problem(str(path), f"{where}.value_km3", value, "a published volume in km3, above 0 and below 1000"))
            continue
        if source not in basin.sources:
            problems.append(Problem(str(path), f"{where}.source", source, "a key of sources.toml: " + did_you_mean(source, basin.sources)))
            continue
        if (figure, year, period) in seen:
            problems.append(Problem(str(path), where, f"{figure} {year} {period}", "each figure, year and period once"))
            continue
        seen.add((figure, year, period))
        out.append(Recorded(figure, year, period, value, source, (row.get("note") or "").strip()))
    if problems:
        raise ScenarioError(problems)
    return out


def replay_overrides(year: int, recorded_years) -> list[tuple[str, object]]:
    """Run-file overrides that replay `year` after a spin-up year (the recorded year before, or `year` itself)."""
    spin = year - 1 if year - 1 in recorded_years else year
    return [("hydrology.kind", "historical"), ("hydrology.members", 1), ("hydrology.replay", [spin, year]),
            ("time.start", f"{year - 1}-01"), ("time.years", 2), ("analysis.warmup_years", 0)]  # its own spin-up: kept, for 1 January


def measure(ds: xr.Dataset, network, figure: str, year: int, period: str) -> float:
    """The model's value of one figure in calendar `year` of the run `ds`, km3 (member mean)."""
    if figure == "storage_jan1":
        december = (ds.time.dt.year == year - 1) & (ds.time.dt.month == 12)
        return float(ds.storage.sel(node=["nurek", "tuyamuyun"]).sum("node").where(december, drop=True).mean()) / 1000.0
    sel = (ds.time.dt.year == year) & ds.time.dt.month.isin(PERIODS[period])
    series = FIGURES[figure][1](ds, network)
    return float(series.where(sel, 0.0).sum("time").mean("member")) / 1000.0


def observed_demand_overrides(network, recorded: list[Recorded], year: int) -> list[tuple[str, object]]:
    """Run-file overrides that set each state's demand to its recorded use in `year` (withdrawal_<STATE> figures):
    for a growing-season figure the state's offtakes' Apr-Sep demands are scaled to it (their Oct-Mar demand kept,
    so annual demand and growing share change); for an annual one their annual demands. Offtakes keep their
    shares within the state."""
    out = []
    for r in recorded:
        if r.year != year or not r.figure.startswith("withdrawal_") or r.period not in ("annual", "apr_sep"):
            continue
        state = r.figure.split("_", 1)[1]
        ks = [k for k, i in enumerate(network.offtake_idx) if network.state[i] == state]
        annual = network.offtake_demand_annual[ks]  # hm3/yr
        share = network.offtake_growing_share[ks]
        target = r.value_km3 * 1000.0
        part = annual * share if r.period == "apr_sep" else annual
        if part.sum() <= 0:
            continue
        f = target / part.sum()
        new_annual = annual * share * f + annual * (1 - share) if r.period == "apr_sep" else annual * f
        new_share = np.where(new_annual > 0, annual * share * f / np.where(new_annual > 0, new_annual, 1.0), share) if r.period == "apr_sep" else share
        for k, d, g in zip(ks, new_annual, new_share):
            name = network.names[network.offtake_idx[k]]
            out.append((f"parameters.node.{name}.demand", f"{float(d) / 365.25!r} hm3/day"))
            if r.period == "apr_sep":
                out.append((f"parameters.node.{name}.growing_share", float(g)))
    return out


def hindcast(run_file, overrides=None, validate=None, observed_demand: bool | None = None) -> pd.DataFrame:
    """Replay every recorded year of the run file's basin and set each published figure against the model: one
    row per published figure (figure, year, period, published, simulated, relative_error, role, source, note;
    volumes in km3). `observed_demand` (default: the run file's hindcast.observed_demand) sets each state's
    demand to its recorded use where a year publishes it (:func:`observed_demand_overrides`): those withdrawals
    become inputs, and the rest of the river is checked against them."""
    import pandas as pd

    from hydro.basin import load_basin
    from hydro.network import compile_network
    from hydro.runner import run_scenario
    from hydro.scenario import load_scenario

    overrides = list(overrides or [])
    base = load_scenario(run_file, overrides)
    basin = load_basin(base.basin_path, base.parameters)
    recorded = load_recorded(basin)
    settings = base.doc.get("hindcast", {})
    validate_given = validate is not None
    validate = sorted(set(settings.get("validate", [2024]) if validate is None else validate))
    observed = bool(settings.get("observed_demand", False) if observed_demand is None else observed_demand)
    years = sorted({r.year for r in recorded})
    unknown = [y for y in validate if y not in years]
    if unknown:
        raise ScenarioError([Problem("<command line>" if validate_given else str(run_file), "--validate" if validate_given else "hindcast.validate",
                                     unknown, f"years with published figures in the basin's recorded_figures: {years}")])
    network0 = compile_network(basin, base.reservoirs_enabled)
    replayable = sorted(basin.historical)
    rows = []
    for year in sorted({r.year for r in recorded}):
        wanted = [r for r in recorded if r.year == year]
        if year not in replayable:
            rows += [_row(r, np.nan, "not replayed", f"no natural flow recorded for {year} in the basin's historical_years") for r in wanted]
            continue
        demand = observed_demand_overrides(network0, wanted, year) if observed else []
        scenario = load_scenario(run_file, [*overrides, *replay_overrides(year, replayable), *demand])
        ds = run_scenario(scenario)
        role = "validation" if year in validate else "calibration"
        for r in wanted:
            simulated = measure(ds, network0, r.figure, r.year, r.period)
            if r.figure in INPUTS:
                rows.append(_row(r, simulated, "input", INPUTS[r.figure]))
            elif demand and r.figure.startswith("withdrawal_"):
                rows.append(_row(r, simulated, "input", "observed demand: the state's demand is set to this recorded use; "
                                                        "a shortfall here is water the model's river could not supply"))
            else:
                rows.append(_row(r, simulated, role, ""))
    return pd.DataFrame(rows)


def _row(r: Recorded, simulated: float, role: str, reason: str) -> dict:
    return {"figure": r.figure, "year": r.year, "period": r.period, "published": r.value_km3, "simulated": simulated,
            "relative_error": (simulated - r.value_km3) / r.value_km3, "role": role, "source": r.source,
            "note": "; ".join(x for x in (r.note, reason) if x)}


def skill(table: pd.DataFrame) -> pd.DataFrame:
    """Per role (calibration, validation): number of figures, median and largest absolute relative error, share
    within 10 % and 20 %. Input rows are left out."""
    import pandas as pd

    done = table.dropna(subset=["simulated"])
    done = done[done.role.isin(["calibration", "validation"])]
    err = done.relative_error.abs()
    return pd.DataFrame({
        "figures": done.groupby("role").size(),
        "median_abs_error_pct": 100 * err.groupby(done.role).median(),
        "max_abs_error_pct": 100 * err.groupby(done.role).max(),
        "within_10pct": (err <= 0.10).groupby(done.role).mean(),
        "within_20pct": (err <= 0.20).groupby(done.role).mean(),
    }).round(3)


def figure(table: pd.DataFrame, title: str):
    """Model against record: one point per figure (log axes, km3), the 1:1 line and a +-20 % band, coloured by role."""
    import matplotlib.pyplot as plt

    done = table.dropna(subset=["simulated"])
    done = done[done.role.isin(["calibration", "validation"])]
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    if done.empty:  # no recorded year could be replayed
        ax.text(0.5, 0.5, "no published figure of a replayed year to compare", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
        return fig
    low = max(0.5, 0.8 * float(min(done.published.min(), done.simulated.min())))
    high = 1.25 * float(max(done.published.max(), done.simulated.max()))
    x = np.geomspace(low, high, 50)
    ax.plot(x, x, color="black", lw=1, label="model = record")
    ax.fill_between(x, 0.8 * x, 1.2 * x, color="0.85", label="within 20 %")
    markers = dict(zip(sorted(done.figure.unique()), "osD^v<>ph*X+"))
    for role, colour in (("calibration", "tab:blue"), ("validation", "tab:red")):
        part = done[done.role == role]
        for name, group in part.groupby("figure"):
            season = group.period == "apr_sep"  # hollow: growing season (Apr-Sep); filled: the year
            ax.scatter(group.published[~season], group.simulated[~season], marker=markers[name], color=colour, s=36,
                       label=f"{name} ({role})")
            ax.scatter(group.published[season], group.simulated[season], marker=markers[name], facecolors="none",
                       edgecolors=colour, s=36)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    from matplotlib.ticker import FuncFormatter, LogLocator

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(LogLocator(subs="auto"))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.text(0.98, 0.02, "filled: calendar year; hollow: Apr-Sep; storage: 1 January", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8, color="0.3")
    ax.set_xlabel("published, km3 (SIC-ICWC yearbooks, ICWC decisions)")
    ax.set_ylabel("model, km3")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", ncol=1)
    fig.tight_layout()
    return fig
