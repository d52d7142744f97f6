"""Leverage scores: how much Afghanistan's hold over the Amu Darya (and its other ties) weighs on each Central
Asian state, and how Qosh Tepa changes it.

score_s = clip(w_water x water_s + w_conn x connectivity_s + w_sec x security_s - w_counter x counter_s, 0, 1)

- **water** is computed from model results, never typed in: the share of the state's Amu Darya demand that Qosh
  Tepa's withdrawal removes (mean year and dry year, averaged), relative to ``full_exposure_share``, times the
  state's dependence on water that passes an Afghan offtake (``afghan_dependence``). A state with no offtake in
  the basin has no demand, hence zero water exposure by computation.
- **connectivity**, **security** and **counter**(-leverage) are the means of their indicators in
  ``basins/amu_darya/leverage.toml``, each value divided by the indicator's ``max`` and clipped to [0, 1].

The weights and indicators, with their sources and ranges, live in the data file. :func:`sensitivity` samples the
exposure weights from a Dirichlet around the defaults, the counter weight within +/-50 % and every indicator within
its range, and counts how often each state holds each rank.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydro.errors import TOO_DEEP, Collector, Problem, ProblemsError, ScenarioError, too_deep
from hydro.metrics import state_summary

EXPOSURE = ("water", "connectivity", "security")
DIMENSIONS = (*EXPOSURE, "counter")


class LeverageError(ProblemsError):
    """A leverage data file that does not load."""

    kind = "leverage data"


@dataclass
class Value:
    value: float
    low: float
    high: float
    source: str
    justification: str


@dataclass
class Indicator:
    name: str
    dimension: str
    description: str
    unit: str
    max: float
    values: dict[str, Value]


@dataclass
class Computed:
    """An electricity indicator the model computes for one state (a ``[[computed]]`` table of the data file)."""

    state: str
    indicator: str
    summer_months: tuple[int, ...]
    exports_gwh: Value
    to_afghanistan_gwh: Value
    link_mw: Value | None


@dataclass
class LeverageData:
    path: Path
    states: list[str]
    weights: dict[str, float]
    full_exposure_share: Value
    indicators: list[Indicator]
    sources: dict[str, dict] = field(default_factory=dict)
    computed: list[Computed] = field(default_factory=list)


def _value(raw, key: str, sources: dict, problems: Collector) -> Value | None:
    if not isinstance(raw, dict) or "value" not in raw:
        problems.add(key, raw, "a table { value = ..., source = \"KEY\", justification = \"...\" }")
        return None
    v = raw["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        problems.add(f"{key}.value", v, "a number")
        return None
    src = raw.get("source")
    if not isinstance(src, str) or src not in sources:
        problems.add(f"{key}.source", src if src is not None else "<missing>", "a key of the [sources] tables of the file")
    if not str(raw.get("justification", "")).strip():
        problems.add(f"{key}.justification", "<missing>", "one line saying why")
    lo, hi = float(v), float(v)
    if "range" in raw:
        r = raw["range"]
        if not (isinstance(r, list) and len(r) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r) and r[0] <= v <= r[1]):
            problems.add(f"{key}.range", r, f"[low, high] around the value {v}")
        else:
            lo, hi = float(r[0]), float(r[1])
    return Value(float(v), lo, hi, str(src), str(raw.get("justification", "")))


def load_leverage(path: str | Path, text: str | None = None) -> LeverageData:
    """Read and check a leverage data file (or its `text`, as stored in a results file, `path` naming where it
    came from); every problem is reported at once in a :class:`LeverageError`."""
    path = Path(path)
    problems = Collector(path)
    try:
        if text is not None:
            doc = tomllib.loads(text)
        else:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        problems.add("<file>", str(err), "a readable TOML leverage file")
        raise LeverageError(problems.problems) from err
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        doc = None
    if doc is None or too_deep(doc):
        problems.add("<toml>", "<nested too deeply>", TOO_DEEP)
        raise LeverageError(problems.problems)
    sources = doc.get("sources", {}) if isinstance(doc.get("sources"), dict) else {}
    states = doc.get("states")
    if not (isinstance(states, list) and states and all(isinstance(s, str) and len(s) == 3 for s in states)):
        problems.add("states", states, "a list of ISO 3166 alpha-3 codes")
        states = []
    weights = {}
    dims = doc.get("dimensions", {})
    for d in DIMENSIONS:
        w = dims.get(d, {}).get("weight") if isinstance(dims.get(d), dict) else None
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= 1:
            problems.add(f"dimensions.{d}.weight", w if w is not None else "<missing>", "a weight between 0 and 1")
        else:
            weights[d] = float(w)
    if all(d in weights for d in EXPOSURE) and abs(sum(weights[d] for d in EXPOSURE) - 1) > 1e-9:
        problems.add("dimensions", {d: weights[d] for d in EXPOSURE}, "exposure weights (water, connectivity, security) adding up to 1")
    share = _value(doc.get("water", {}).get("full_exposure_share"), "water.full_exposure_share", sources, problems)
    if share is not None and not 0 < share.low <= share.high <= 1:
        problems.add("water.full_exposure_share", share.value, "a share of demand between 0 and 1")
    indicators = []
    for i, raw in enumerate(doc.get("indicator", [])):
        where = f"indicator[{i}] ({raw.get('name')!r})"
        dim = raw.get("dimension")
        if dim not in ("connectivity", "security", "counter"):
            problems.add(f"{where}.dimension", dim, "one of connectivity, security, counter (water is computed)")
            continue
        mx = raw.get("max")
        if isinstance(mx, bool) or not isinstance(mx, (int, float)) or mx <= 0:
            problems.add(f"{where}.max", mx, "the value that scores 1, > 0")
            continue
        values = {}
        for s in states:
            v = _value(raw.get("values", {}).get(s), f"{where}.values.{s}", sources, problems)
            if v is not None:
                values[s] = v
        indicators.append(Indicator(str(raw.get("name")), dim, str(raw.get("description", "")), str(raw.get("unit", "")), float(mx), values))
    computed = [c for i, raw in enumerate(doc.get("computed", [])) if (c := _computed(raw, f"computed[{i}]", states, indicators, sources, problems))]
    for key, entry in sources.items():
        if not isinstance(entry, dict) or not entry.get("title") or not entry.get("url") or entry.get("confidence") not in ("H", "M", "L", "U"):
            problems.add(f"sources.{key}", entry, "a table with title, url and confidence H/M/L/U")
    if problems:
        raise LeverageError(problems.problems)
    return LeverageData(path, states, weights, share, indicators, sources, computed)


def _computed(raw, where: str, states: list, indicators: list, sources: dict, problems: Collector) -> Computed | None:
    """One ``[[computed]]`` table, checked (None, with the problems collected, when it does not load)."""
    if not isinstance(raw, dict):
        problems.add(where, raw, "a table naming state, indicator, summer_months, exports_gwh and to_afghanistan_gwh")
        return None
    ok = True
    if raw.get("state") not in states:
        problems.add(f"{where}.state", raw.get("state"), f"one of the file's states {states}")
        ok = False
    if not any(ind.name == raw.get("indicator") and ind.dimension == "counter" for ind in indicators):
        problems.add(f"{where}.indicator", raw.get("indicator"), "the name of a counter indicator of the file")
        ok = False
    months = raw.get("summer_months")
    if not (isinstance(months, list) and months and all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in months)
            and len(set(months)) == len(months)):
        problems.add(f"{where}.summer_months", months, "a list of distinct calendar months 1-12")
        ok = False
    if raw.get("summer_source") not in sources:
        problems.add(f"{where}.summer_source", raw.get("summer_source"), "a key of the [sources] tables of the file")
    exports = _value(raw.get("exports_gwh"), f"{where}.exports_gwh", sources, problems)
    to_af = _value(raw.get("to_afghanistan_gwh"), f"{where}.to_afghanistan_gwh", sources, problems)
    link = _value(raw["link_mw"], f"{where}.link_mw", sources, problems) if "link_mw" in raw else None
    if exports is not None and to_af is not None and not 0 <= to_af.low <= to_af.high <= exports.value and exports.value > 0:
        problems.add(f"{where}.to_afghanistan_gwh", to_af.value, f"a part of exports_gwh ({exports.value:g}), with its range")
        ok = False
    if not ok or exports is None or to_af is None or exports.value <= 0:
        return None
    return Computed(str(raw["state"]), str(raw["indicator"]), tuple(months), exports, to_af, link)


# ------------------------------------------------------------------ the water dimension, from model results


def afghan_dependence(network) -> dict[str, float]:
    """Per state: demand-weighted share of the natural flow reaching its offtakes that has passed an Afghan offtake
    (where Afghanistan can take it first). 0 for a state without offtakes."""
    afghan = {i for i in network.offtake_idx if network.state[i] == "AFG"}
    annual = dict(zip((int(i) for i in network.inflow_idx), network.inflow_annual))
    share_at = {}
    for k, i in enumerate(network.offtake_idx):
        total = passed = 0.0
        for u, q in annual.items():
            path, cur, reached = [], u, False
            while cur >= 0:
                if cur == i:
                    reached = True
                    break
                path.append(cur)
                cur = int(network.downstream[cur])
            if reached:
                total += q
                passed += q if any(p in afghan for p in path) else 0.0
        share_at[int(i)] = passed / total if total else 0.0
    out = {}
    for state in sorted(set(network.state) - {""}):
        ks = [k for k, i in enumerate(network.offtake_idx) if network.state[i] == state]
        demand = network.offtake_demand_annual[ks] if ks else np.array([])
        out[state] = float(np.dot(demand, [share_at[int(network.offtake_idx[k])] for k in ks]) / demand.sum()) if ks and demand.sum() > 0 else 0.0
    return out


def water_losses(with_ds: xr.Dataset, without_ds: xr.Dataset, states: list[str], dry_with=None, dry_without=None) -> pd.DataFrame:
    """Per state: demand (km3/yr) and the share of it that Qosh Tepa removes in the mean year and in dry years
    (dry member-years of the runs, or the separate dry-year runs when given). States with no demand: zeros."""
    rows = []
    tables = {"with": state_summary(with_ds), "without": state_summary(without_ds)}
    if dry_with is not None:
        tables["dry_with"], tables["dry_without"] = state_summary(dry_with), state_summary(dry_without)
    else:
        tables["dry_with"], tables["dry_without"] = state_summary(with_ds, "dry years"), state_summary(without_ds, "dry years")
    for s in states:
        def get(t, col, s=s):
            table = tables[t]
            return float(table.loc[s, col]) if s in table.index else 0.0
        demand = get("with", "demand_km3")
        mean = (get("with", "shortfall_km3") - get("without", "shortfall_km3")) / demand if demand > 0 else 0.0
        dry_demand = get("dry_with", "demand_km3")
        dry = (get("dry_with", "shortfall_km3") - get("dry_without", "shortfall_km3")) / dry_demand if dry_demand > 0 else mean
        rows.append({"state": s, "demand_km3": demand, "qt_loss_mean": max(mean, 0.0), "qt_loss_dry": max(dry, 0.0)})
    return pd.DataFrame(rows).set_index("state")


def water_dimension(losses: pd.DataFrame, dependence: dict[str, float], full_share: float) -> pd.Series:
    """water_s = dependence_s x min(1, mean(loss mean year, loss dry year) / full_share), in [0, 1]."""
    loss = (losses.qt_loss_mean + losses.qt_loss_dry) / 2
    dep = pd.Series({s: dependence.get(s, 0.0) for s in losses.index})
    return (dep * np.minimum(1.0, loss / full_share)).rename("water")


# ------------------------------------------------------------------ electricity, from model results


def electricity(data: LeverageData, ds: xr.Dataset, dry_ds: xr.Dataset | None = None) -> pd.DataFrame:
    """Per ``[[computed]]`` state whose plants the run holds: its summer generation, the demand on those plants,
    the surplus and the part Afghanistan takes (GWh/yr) in the mean year and in dry years (the run's dry
    member-years, or the dry-year run `dry_ds` when given and it keeps the plants), and the value that replaces the
    typed-in indicator, with its range. Afghanistan's part is capped at the most it has bought (the sourced range's
    high end) plus what ``link_mw`` carries over the summer months. Empty when no state's plants are in the run."""
    from hydro.energy import monthly, season_surplus
    from hydro.results import saved_network

    layout = saved_network(ds)  # a dry-year counterpart ran on the same network and carries none of its own
    months = monthly(ds, layout)
    dry_months = monthly(dry_ds, layout) if dry_ds is not None else None
    rows = []
    for c in data.computed:
        mean = season_surplus(ds, c.summer_months, "all", months, layout)
        if c.state not in mean.index:
            continue
        if dry_months:
            dry = season_surplus(dry_ds, c.summer_months, "all", dry_months, layout)
        else:
            dry = season_surplus(ds, c.summer_months, "dry years", months, layout)
        share, low_share, high_share = (v / c.exports_gwh.value for v in (c.to_afghanistan_gwh.value, c.to_afghanistan_gwh.low, c.to_afghanistan_gwh.high))
        surplus_mean = float(mean.loc[c.state, "surplus_gwh"])
        surplus_dry = float(dry.loc[c.state, "surplus_gwh"]) if c.state in dry.index else np.nan  # no dry year kept
        link = c.link_mw.value * 24.0 * _season_days(c.summer_months) / 1000.0 if c.link_mw is not None else np.nan
        cap = c.to_afghanistan_gwh.high + link if np.isfinite(link) else np.inf  # the most sold, plus the new line
        to_af = [min(max(surplus_mean, 0.0) * share, cap), min(max(surplus_dry, 0.0) * share, cap) if np.isfinite(surplus_dry) else np.nan]
        both = [x for x in (surplus_mean, surplus_dry) if np.isfinite(x)]
        rows.append({
            "state": c.state, "indicator": c.indicator, "summer_months": "-".join(str(m) for m in c.summer_months),
            "generation_gwh": float(mean.loc[c.state, "generation_gwh"]), "demand_gwh": float(mean.loc[c.state, "demand_gwh"]),
            "surplus_gwh": surplus_mean, "dry_surplus_gwh": surplus_dry,
            "to_afghanistan_gwh": to_af[0], "dry_to_afghanistan_gwh": to_af[1],
            "value": float(np.nanmean(to_af)),
            "low": min(max(min(both), 0.0) * low_share, cap),
            "high": min(max(max(both), 0.0) * high_share, cap),
            "recorded_gwh": c.to_afghanistan_gwh.value, "recorded_exports_gwh": c.exports_gwh.value,
            "link_gwh": link, "cap_gwh": cap,
        })
    return pd.DataFrame(rows).set_index("state") if rows else pd.DataFrame()


def _season_days(months: tuple) -> int:
    """Days in the calendar months `months` of a common year."""
    from hydro.hydrology import MONTH_DAYS

    return int(sum(MONTH_DAYS[m - 1] for m in months))


def with_electricity(data: LeverageData, table: pd.DataFrame) -> LeverageData:
    """`data` with each computed indicator's value (and range) replaced by the model's (:func:`electricity`)."""
    if table is None or not len(table):
        return data
    indicators = []
    for ind in data.indicators:
        values = dict(ind.values)
        for state, row in table[table.indicator == ind.name].iterrows():
            values[state] = Value(float(row.value), float(row.low), float(row.high), "model",
                                  f"computed from the run's summer ({row.summer_months}) surplus")
        indicators.append(Indicator(ind.name, ind.dimension, ind.description, ind.unit, ind.max, values))
    return LeverageData(data.path, data.states, data.weights, data.full_exposure_share, indicators, data.sources, data.computed)


# ------------------------------------------------------------------ scores


def dimension_scores(data: LeverageData, draw=None) -> pd.DataFrame:
    """Per state, the connectivity, security and counter scores (means of their normalised indicators); `draw`
    (indicator, state) -> value replaces the file's values (for sampling)."""
    rows = {}
    for s in data.states:
        row = {}
        for dim in ("connectivity", "security", "counter"):
            vals = []
            for ind in data.indicators:
                if ind.dimension == dim and s in ind.values:
                    v = draw(ind, s) if draw else ind.values[s].value
                    vals.append(min(max(v / ind.max, 0.0), 1.0))
            row[dim] = float(np.mean(vals)) if vals else 0.0
        rows[s] = row
    return pd.DataFrame(rows).T


def scores(data: LeverageData, water: pd.Series, weights: dict | None = None, dims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per state: each dimension, the weighted parts, the score in [0, 1] and the rank (1 = most leverage)."""
    w = dict(data.weights if weights is None else weights)
    table = dims if dims is not None else dimension_scores(data)
    table = table.copy()
    table.insert(0, "water", [float(water.get(s, 0.0)) for s in table.index])
    for d in DIMENSIONS:
        table[f"{d}_part"] = (-1 if d == "counter" else 1) * w[d] * table[d]
    table["score"] = np.clip(sum(table[f"{d}_part"] for d in DIMENSIONS), 0.0, 1.0)
    table["rank"] = table.score.rank(ascending=False, method="first").astype(int)  # ties broken by state order
    return table.sort_values(["rank", "score"], ascending=[True, False])


def sensitivity(data: LeverageData, losses: pd.DataFrame, dependence: dict, n: int = 2000, seed: int = 0,
                concentration: float = 50.0) -> pd.DataFrame:
    """How often each state holds each rank when weights and indicator values are sampled (state x rank, shares)."""
    check_samples(n)
    rng = np.random.default_rng(seed)
    counts = pd.DataFrame(0, index=data.states, columns=range(1, len(data.states) + 1))
    base = np.array([data.weights[d] for d in EXPOSURE])
    for _ in range(n):
        exposure = rng.dirichlet(concentration * base)
        weights = dict(zip(EXPOSURE, exposure))
        weights["counter"] = data.weights["counter"] * rng.uniform(0.5, 1.5)
        full = rng.uniform(data.full_exposure_share.low, data.full_exposure_share.high)
        water = water_dimension(losses, dependence, full)
        dims = dimension_scores(data, draw=lambda ind, s: rng.uniform(ind.values[s].low, ind.values[s].high))
        table = scores(data, water, weights, dims)
        for s, r in table["rank"].items():
            counts.loc[s, r] += 1
    return counts / n


@dataclass
class LeverageResult:
    table: pd.DataFrame  # scores at the chosen withdrawal
    losses: pd.DataFrame
    dependence: dict
    ranks: pd.DataFrame  # rank probabilities
    response: pd.DataFrame | None  # score and water per Qosh Tepa level (from a sweep)
    ranking_changes_at: float | None
    withdrawal_km3: float
    electricity: pd.DataFrame = field(default_factory=pd.DataFrame)  # the computed indicators (:func:`electricity`)
    recorded: pd.DataFrame | None = None  # scores at the chosen withdrawal with the typed-in values instead


def computed_data(data: LeverageData, ds: xr.Dataset, dry_ds=None) -> tuple[LeverageData, pd.DataFrame]:
    """`data` with the model's electricity indicators in, and the table of them."""
    table = electricity(data, ds, dry_ds)
    return with_electricity(data, table), table


def _ranking(table: pd.DataFrame) -> list[str]:
    return list(table.sort_values("score", ascending=False).index)


def check_samples(n) -> None:
    """Refuse a number of sensitivity samples below 1 (the rank shares would be 0/0)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ScenarioError([Problem("<command line>", "--samples", n, "a whole number of samples >= 1")])


def _levels_text(levels) -> str:
    return "[" + ", ".join(f"{x:g}" for x in levels) + "]"


def select_rule(sweep: xr.Dataset, rule: str | None) -> xr.Dataset:
    """The sweep at one allocation rule when it varies rules (default: the first); refuses a rule it does not hold,
    also for a sweep of one rule (named in its attributes)."""
    held = [str(r) for r in np.atleast_1d(sweep["rule"].values)] if "rule" in sweep.coords else []
    if rule is not None and held and rule not in held:
        raise ScenarioError([Problem("<command line>", "--rule", rule, f"one of the rules the sweep holds: {held}")])
    if rule is not None and not held and rule != sweep.attrs.get("rule"):
        raise ScenarioError([Problem("<command line>", "--rule", rule, f"the sweep's only rule {sweep.attrs.get('rule')!r}")])
    if "rule" in sweep.dims:
        return sweep.sel(rule=rule or held[0])
    return sweep


def rule_of(sweep: xr.Dataset) -> str:
    """The allocation rule of a sweep at one rule (after :func:`select_rule`)."""
    return str(sweep["rule"].values) if "rule" in sweep.coords else str(sweep.attrs.get("rule", "?"))


def from_sweep(data: LeverageData, sweep: xr.Dataset, network, withdrawal_km3: float, samples: int, seed: int,
               rule: str | None = None) -> LeverageResult:
    """Leverage at every Qosh Tepa level of a sweep (level 0 is the 'without'); the main table at the swept level
    `withdrawal_km3` (km3/yr); `rule` picks one rule of a sweep that varies rules (default: the first)."""
    key = "qosh_tepa.withdrawal_km3"
    where = str(sweep.attrs.get("sweep_folder", "<sweep>"))
    check_samples(samples)
    if key not in sweep.dims:
        raise ScenarioError([Problem(where, "sweep", f"<no {key} dimension>", "a sweep that varies the Qosh Tepa withdrawal")])
    sweep = select_rule(sweep, rule)
    levels = [float(x) for x in np.atleast_1d(sweep[key].values)]
    if 0.0 not in levels:
        raise ScenarioError([Problem(where, key, f"<swept levels {_levels_text(levels)}>",
                                     f"a level of 0 km3/yr (the run without Qosh Tepa) among the swept levels: add 0 to --vary {key}")])
    try:
        chosen = next(lv for lv in levels if np.isclose(lv, float(withdrawal_km3), rtol=0, atol=1e-9))
    except (StopIteration, TypeError, ValueError):
        raise ScenarioError([Problem("<command line>", "--withdrawal", withdrawal_km3, f"one of the swept levels {_levels_text(levels)} km3/yr")]) from None
    dependence = afghan_dependence(network)
    base = sweep.sel({key: 0}).load()
    recorded_data = data
    data, elec = computed_data(data, sweep.sel({key: chosen}).load())
    rows, tables, losses_at = [], {}, {}
    for level in levels:
        point = sweep.sel({key: level}).load()
        losses = water_losses(point, base, data.states)
        water = water_dimension(losses, dependence, data.full_exposure_share.value)
        table = scores(data, water)
        tables[level], losses_at[level] = table, losses
        for s in data.states:
            rows.append({key: level, "state": s, "water": table.loc[s, "water"], "score": table.loc[s, "score"], "rank": table.loc[s, "rank"]})
    response = pd.DataFrame(rows)
    start = _ranking(tables[levels[0]])
    changes = next((lv for lv in levels if _ranking(tables[lv]) != start), None)
    # marginal loss: km3 of the state's shortfall per km3 withdrawn, least squares over the levels
    slope = {}
    for s in data.states:
        y = [losses_at[lv].loc[s, "qt_loss_mean"] * losses_at[lv].loc[s, "demand_km3"] for lv in levels]
        slope[s] = float(np.polyfit(levels, y, 1)[0]) if len(levels) > 1 else np.nan
    losses = losses_at[chosen].assign(marginal_km3_per_km3=pd.Series(slope))
    ranks = sensitivity(data, losses_at[chosen], dependence, samples, seed)
    recorded = scores(recorded_data, water_dimension(losses_at[chosen], dependence, data.full_exposure_share.value))
    return LeverageResult(tables[chosen], losses, dependence, ranks, response, changes, chosen, elec, recorded)


def from_runs(data: LeverageData, with_ds, without_ds, network, samples: int, seed: int, dry_with=None, dry_without=None) -> LeverageResult:
    """Leverage from one run and its counterpart without Qosh Tepa (and dry-year runs when given)."""
    check_samples(samples)
    dependence = afghan_dependence(network)
    losses = water_losses(with_ds, without_ds, data.states, dry_with, dry_without)
    water = water_dimension(losses, dependence, data.full_exposure_share.value)
    recorded = scores(data, water)
    data, elec = computed_data(data, with_ds, dry_with)
    table = scores(data, water)
    ranks = sensitivity(data, losses, dependence, samples, seed)
    return LeverageResult(table, losses, dependence, ranks, None, None, float(with_ds.attrs.get("qosh_tepa_withdrawal_km3", np.nan)),
                          elec, recorded)


def to_csv_table(result: LeverageResult) -> pd.DataFrame:
    """One row per state: the breakdown, the score, the rank, the water details and the rank probabilities."""
    table = result.table.join(result.losses).assign(afghan_dependence=pd.Series(result.dependence))
    if result.recorded is not None:  # the same scores with the typed-in (recorded) counter indicators
        table = table.join(result.recorded[["counter", "score", "rank"]].add_suffix("_recorded"))
    probs = result.ranks.add_prefix("p_rank_")
    return table.join(probs)


def electricity_lines(result: LeverageResult) -> list[str]:
    """What the computed electricity indicators are and how they move the ranking, one line each (GWh/yr)."""
    def dry(x) -> str:
        return f"dry years {x:,.0f}" if np.isfinite(x) else "no dry year in the run"

    lines = []
    for state, r in result.electricity.iterrows():
        link = (f"; capped at {r.cap_gwh:,.0f} (the most sold, {r.cap_gwh - r.link_gwh:,.0f}, plus {r.link_gwh:,.0f} over the new line)"
                if np.isfinite(r.link_gwh) else "")
        lines.append(f"{state} electricity to Afghanistan, from the model (months {r.summer_months}, GWh/yr): generation {r.generation_gwh:,.0f}, "
                     f"demand on its plants {r.demand_gwh:,.0f}, surplus {r.surplus_gwh:,.0f} ({dry(r.dry_surplus_gwh)}); "
                     f"Afghanistan's {r.recorded_gwh / r.recorded_exports_gwh:.0%} share of it {r.to_afghanistan_gwh:,.0f} ({dry(r.dry_to_afghanistan_gwh)}); "
                     f"used {r.value:,.0f} [{r.low:,.0f}-{r.high:,.0f}] in place of the recorded {r.recorded_gwh:,.0f}{link}")
        if result.recorded is not None:
            lines.append(f"{state} counter-leverage {result.recorded.loc[state, 'counter']:.3f} -> {result.table.loc[state, 'counter']:.3f}, "
                         f"score {result.recorded.loc[state, 'score']:.3f} -> {result.table.loc[state, 'score']:.3f} (recorded value -> model's)")
    if result.recorded is not None and len(result.electricity):
        before, after = ranking_text(result.recorded), ranking_text(result.table)
        lines.append(f"ranking with the recorded value {before}; with the model's {after}" + (" (unchanged)" if before == after else " (changed)"))
    return lines


def ranking_text(table: pd.DataFrame, tie: float = 1e-9) -> str:
    """The states by score, highest first: 'A > B = C' (scores less than `tie` apart, such as several clipped at 0,
    tie)."""
    ordered = table.score.sort_values(ascending=False, kind="stable")
    groups = [[str(ordered.index[0])]]
    for (_, prev), (state, score) in zip(ordered.iloc[:-1].items(), ordered.iloc[1:].items()):
        if abs(prev - score) < tie:
            groups[-1].append(str(state))
        else:
            groups.append([str(state)])
    return " > ".join(" = ".join(sorted(g)) for g in groups)  # tied states by name, so equal rankings read alike
