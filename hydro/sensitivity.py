"""Which uncertain figures move the answer: one at a time across their sourced ranges.

The answer is the cost of Qosh Tepa to Uzbekistan and Turkmenistan: their shortfall (km3/yr) with the run's
Qosh Tepa target less their shortfall without Qosh Tepa, in the run's own hydrology ("mean") and in a dry year
(the run's own dry water years when it has some, else the counterpart runs of :mod:`hydro.runner`: one named dry year
at Kerki). Every basin figure with a ``range`` is a
parameter; figures sharing a name, source and range (the return fraction of every drained command, the annual CV
of every river) move together as one parameter. Each parameter is set to the low and then the high end of its
range (a run's ``[parameters]``, :func:`hydro.basin.set_parameters`), everything else as in the run file.

``swing`` is the difference between the costs at the two ends (high end minus low end), km3/yr.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COST_STATES = ("UZB", "TKM")
DISPLAY = {"volume": ("km3", 1e-3), "rate": ("km3/yr", 365.25e-3), "length": ("m", 1.0), "power": ("MW", 1.0)}  # model units as shown


@dataclass
class Parameter:
    """Figures moved together: their paths (hydro.basin.set_parameters), name, source, confidence, value and range
    (model units: hm3, hm3/day or plain)."""

    label: str
    paths: list[str]
    source: str
    confidence: str
    dimension: str
    value: float
    low: float
    high: float

    def text(self, v: float):
        """The value as written in a run's [parameters]."""
        v = float(v)
        return {"volume": f"{v!r} hm3", "rate": f"{v!r} hm3/day", "length": f"{v!r} m", "power": f"{v!r} MW"}.get(self.dimension, v)


def parameter_overrides(params: list[Parameter], values: dict[str, float]) -> list[tuple[str, object]]:
    """Run-file overrides setting each parameter's figures to `values` (label -> value in model units)."""
    return [(f"parameters.{path}", p.text(values[p.label])) for p in params for path in p.paths]


def ranged(basin, params: list[Parameter]) -> list[Parameter]:
    """`params`, or a ScenarioError naming the basin when there is nothing to vary."""
    from hydro.errors import Problem, ScenarioError

    if not params:
        raise ScenarioError([Problem(str(basin.path / "basin.toml"), "range", "<no ranged figure>",
                                     "figures with a range = [low, high] to vary (e.g. return_fraction = { value = 0.25, ..., range = [0.2, 0.3] })")])
    return params


def parameters(basin) -> list[Parameter]:
    """The basin's ranged figures that move water, grouped by name, source and range (Qosh Tepa's demand is left
    out: the run file's qosh_tepa.withdrawal_km3 replaces it; so are the power plants' figures)."""
    from hydro.basin import PLANT_FIGURES

    groups: dict[tuple, list[tuple[str, object]]] = {}
    for node in basin.nodes.values():
        for key, fig in node.figures.items():
            if key in PLANT_FIGURES:  # a plant's figures move its energy, never the water
                continue
            if fig.range is not None and not (node.settings.get("qosh_tepa") and key == "demand"):
                groups.setdefault((key, fig.source, fig.range, fig.value), []).append((f"node.{node.name}.{key}", fig, f"{node.name}: {key}"))
    for reach in basin.reaches:
        for key, fig in reach.figures.items():
            if fig.range is not None:
                groups.setdefault((key, fig.source, fig.range, fig.value), []).append((f"reach.{reach.source_node}.{key}", fig, f"reach {reach.source_node} -> {reach.target_node}: {key}"))
    for key, fig in basin.stochastic.items():
        if fig.range is not None:
            groups.setdefault((key, fig.source, fig.range, fig.value), []).append((f"stochastic.{key}", fig, f"stochastic: {key}"))
    out = []
    for (key, source, (low, high), value), members in groups.items():
        fig = members[0][1]
        label = members[0][2] if len(members) == 1 else f"{key} of {len(members)} nodes ({source})"
        out.append(Parameter(label, [m[0] for m in members], source, fig.confidence, fig.dimension, value, low, high))
    return out


def qosh_tepa_cost(run_file, overrides: list) -> dict[str, float]:
    """UZB + TKM shortfall with the run's Qosh Tepa target less without it, km3/yr: {"mean", "dry", "members"
    (the mean-year cost of each member, paired with the same member without Qosh Tepa)}."""
    from hydro.analysis import dry_class, named_dry_year
    from hydro.metrics import member_shortfall, state_summary
    from hydro.runner import run_with_counterparts
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file, overrides)
    ds, others = run_with_counterparts(scenario)

    def short(d, period: str = "all") -> float:
        s = state_summary(d, period)
        return float(s.loc[[c for c in COST_STATES if c in s.index], "shortfall_km3"].sum())

    without = others.get("without_qosh_tepa", ds)
    if "dry_year" in others:  # the run has no dry year: its dry-year counterparts
        dry_cost = short(others["dry_year"]) - short(others.get("dry_year_without_qosh_tepa", others["dry_year"]))
        basis = named_dry_year(scenario.analysis["dry_exceedance"])
    else:  # its own dry water years, paired member by member with the run without Qosh Tepa
        dry_cost = short(ds, "dry years") - short(without, "dry years")
        basis = dry_class(scenario.analysis["dry_exceedance"])
    return {"mean": short(ds) - short(without), "dry": dry_cost, "members": member_shortfall(ds, COST_STATES) - member_shortfall(without, COST_STATES), "dry_basis": basis}


def sensitivity(run_file, overrides=None) -> tuple[dict[str, float], pd.DataFrame]:
    """(the cost as the run file has it, one row per parameter sorted by the larger swing)."""
    from hydro.basin import load_basin
    from hydro.scenario import load_scenario

    overrides = list(overrides or [])
    scenario = load_scenario(run_file, overrides)
    basin = load_basin(scenario.basin_path, scenario.parameters)
    params = ranged(basin, parameters(basin))
    base = qosh_tepa_cost(run_file, overrides)
    rows = []
    for p in params:
        ends = {}
        for end, v in (("low", p.low), ("high", p.high)):
            ends[end] = qosh_tepa_cost(run_file, [*overrides, *parameter_overrides([p], {p.label: v})])
        unit, factor = DISPLAY.get(p.dimension, ("1", 1.0))
        rows.append({
            "parameter": p.label, "paths": " ".join(p.paths), "source": p.source, "confidence": p.confidence,
            "value": p.value * factor, "low": p.low * factor, "high": p.high * factor, "units": unit,
            "cost_mean_low_km3": ends["low"]["mean"], "cost_mean_high_km3": ends["high"]["mean"],
            "cost_dry_low_km3": ends["low"]["dry"], "cost_dry_high_km3": ends["high"]["dry"],
            "swing_mean_km3": ends["high"]["mean"] - ends["low"]["mean"], "swing_dry_km3": ends["high"]["dry"] - ends["low"]["dry"],
        })
    table = pd.DataFrame(rows)
    if len(table):
        order = table[["swing_mean_km3", "swing_dry_km3"]].abs().max(axis=1).sort_values(ascending=False).index
        table = table.loc[order].reset_index(drop=True)
    return base, table


def figure(base: dict[str, float], table: pd.DataFrame, title: str):
    """Tornado: the cost at each parameter's low and high end, mean year and dry year side by side."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * max(len(table), 4) + 1.6), sharey=True)
    y = np.arange(len(table))[::-1]
    for ax, which, label in ((axes[0], "mean", "in the run's years"), (axes[1], "dry", f"in {base.get('dry_basis', 'a dry year')}")):
        lo, hi = table[f"cost_{which}_low_km3"].to_numpy(), table[f"cost_{which}_high_km3"].to_numpy()
        ax.barh(y, lo - base[which], left=base[which], color="tab:blue", label="low end of the range")
        ax.barh(y, hi - base[which], left=base[which], color="tab:orange", alpha=0.8, label="high end of the range")
        ax.axvline(base[which], color="black", lw=1)
        ax.set_title(f"Qosh Tepa's cost to UZB + TKM {label}\n(as the basin file has it: {base[which]:.2f} km3/yr)", fontsize=9)
        ax.set_xlabel("km3/yr")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([f"{p} [{c}]" for p, c in zip(table.parameter, table.confidence)], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sample(params: list[Parameter], n: int, seed: int) -> list[dict[str, float]]:
    """`n` parameter sets drawn by Latin hypercube, each parameter uniform over its range (model units)."""
    from scipy.stats import qmc

    if not params:
        return [{} for _ in range(n)]
    unit = qmc.LatinHypercube(d=len(params), seed=seed).random(n)
    return [{p.label: p.low + u[j] * (p.high - p.low) for j, p in enumerate(params)} for u in unit]


def uncertainty(run_file, overrides=None, samples: int = 100, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Qosh Tepa's cost over `samples` parameter sets (every ranged figure at once, :func:`sample`): (one row
    per set: its values and costs; the band: mean, p05, p50, p95 of the mean- and dry-year cost, km3/yr)."""
    from hydro.basin import load_basin
    from hydro.scenario import load_scenario

    overrides = list(overrides or [])
    scenario = load_scenario(run_file, overrides)
    basin = load_basin(scenario.basin_path, scenario.parameters)
    params = ranged(basin, parameters(basin))
    rows, members = [], []
    unit = {p.label: DISPLAY.get(p.dimension, ("1", 1.0))[1] for p in params}
    for i, values in enumerate(sample(params, samples, seed)):
        cost = qosh_tepa_cost(run_file, [*overrides, *parameter_overrides(params, values)])
        members.append(cost["members"])
        rows.append({"sample": i, **{k: v * unit[k] for k, v in values.items()}, "cost_mean_km3": cost["mean"], "cost_dry_km3": cost["dry"]})
    table = pd.DataFrame(rows)
    band = pd.DataFrame({
        which: {"mean": table[f"cost_{which}_km3"].mean(), "p05": table[f"cost_{which}_km3"].quantile(0.05),
                "p50": table[f"cost_{which}_km3"].quantile(0.50), "p95": table[f"cost_{which}_km3"].quantile(0.95)}
        for which in ("mean", "dry")
    }).T
    parameters_share, hydrology_share = variance_shares(np.array(members))
    band.attrs["dry_basis"] = cost["dry_basis"] if samples else ""
    band["years"] = ["the run's years", band.attrs["dry_basis"]]  # what each row is measured on, in the table itself
    band["from_parameters_pct"] = [100 * parameters_share, np.nan]
    band["from_hydrology_pct"] = [100 * hydrology_share, np.nan]
    band.index.name = "year"
    return table, band


def variance_shares(costs: np.ndarray) -> tuple[float, float]:
    """Shares of the variance of member-level costs (sets, members) that come from the parameter sets and from the
    hydrology (:func:`hydro.metrics.variance_shares`, the sets as groups); (1, 0) with one member per set."""
    from hydro.metrics import variance_shares as shares

    costs = np.asarray(costs, dtype=float)
    return shares(costs.ravel(), np.repeat(np.arange(costs.shape[0]), costs.shape[1]))
