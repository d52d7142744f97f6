"""Negotiation support: which Qosh Tepa agreements would work for every party?

An **agreement** is a set of run-file settings (``KEY=VALUE``, as ``--set`` takes them): a cap on Qosh Tepa's
annual withdrawal, its season (the share taken in April-September and how much of April-May it gives up), the rule
the ICWC states share the rest by, and any other run-file key. Every agreement is judged on the same hydrological
members and years (and parameter sets, where the run has them), by:

- ``afg_withdrawal_km3``: what Qosh Tepa actually takes, mean km3/yr over all member-years;
- ``<STATE>_dry_pct`` and ``<STATE>_dry_p90_pct``: each downstream state's shortfall in the dry water years (natural
  flow at Kerki exceeded in >= 75 % of years, the run's ``analysis.dry_exceedance``), in % of its demand in those
  years: the mean over members and the 90th percentile of the members' figures (a member's figure is its mean
  over its own dry years);
- ``UZB_TKM_dry_pct``: the two together;
- ``delta_inflow_km3``: what reaches the Aral Sea terminal, mean km3/yr.

:func:`admissible` answers the single question "the largest withdrawal that keeps UZB + TKM dry-year shortfall at
or under X %" by a root search on the withdrawal (scipy's brentq) under each rule; :func:`search` finds the Pareto
set of caps and seasons with NSGA-II (pymoo), robust over the members.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hydro.errors import Problem, ScenarioError
from hydro.scenario import Scenario, load_scenario, parse_set

DOWNSTREAM = ("UZB", "TKM")
QT_KEY = "qosh_tepa.withdrawal_km3"
DELTA = "aral_sea"
GROWING = (4, 5, 6, 7, 8, 9)
SPRING = (4, 5)
MEASURES = {"total": "UZB + TKM dry-year shortfall, % of their dry-year demand",
            "added": "the part of it Qosh Tepa adds (with less without), % of the same demand"}


def season_pattern(growing_share: float, spring_cut: float) -> list[float]:
    """Qosh Tepa's 12 monthly weights (January-December, a ``qosh_tepa.pattern``): `growing_share` of the year's
    water in April-September and the rest in October-March, each spread by days, then April and May cut by
    `spring_cut` (0 = as spread, 1 = nothing in April-May); the weights are relative (the cap sets the volume)."""
    from hydro.hydrology import MEAN_DAYS as DAYS

    growing = np.isin(np.arange(1, 13), GROWING)
    weights = np.where(growing, growing_share / DAYS[growing].sum(), (1.0 - growing_share) / DAYS[~growing].sum()) * DAYS
    weights[[m - 1 for m in SPRING]] *= 1.0 - spring_cut
    if weights.sum() <= 0:  # everything in a cut spring: nothing left to take
        weights = np.where(growing, 0.0, DAYS)
    return [round(float(w), 9) for w in weights / weights.sum()]


def agreement_settings(cap_km3: float, growing_share: float | None = None, spring_cut: float = 0.0, rule: str | None = None) -> list:
    """The run-file settings of an agreement on the cap (km3/yr), and optionally Qosh Tepa's season and the rule."""
    out = [(QT_KEY, float(cap_km3))]
    if growing_share is not None:
        out.append(("qosh_tepa.pattern", season_pattern(growing_share, spring_cut)))
    if rule is not None:
        out.append(("rule", rule))
    return out


@dataclass
class Evaluator:
    """Runs agreements on one run file's members, years and parameter sets, reusing their inflows (built once per
    parameter set), and counts the simulations it made."""

    run_file: object
    overrides: list = field(default_factory=list)
    simulations: int = 0
    member_runs: int = 0

    def __post_init__(self):
        self.base = load_scenario(self.run_file, self.overrides)
        self._prepared: dict[str, list] = {}
        self._inputs = self._prepare([])

    def _prepare(self, structural: list) -> list:
        """(scenario, inputs) per parameter set for the run file with the `structural` settings (those that change
        the network or the years), built once and kept."""
        from hydro.parameter_sets import of_run, with_set
        from hydro.runner import prepare

        key = json.dumps([[k, v] for k, v in structural], default=str)
        if key not in self._prepared:
            base = load_scenario(self.run_file, [*self.overrides, *structural]) if structural else self.base
            sets = of_run(base)
            scenarios = [with_set(base, values) for _, values in sets] if sets else [base]
            self._prepared[key] = [(s, prepare(s)) for s in scenarios]
        return self._prepared[key]

    def _refuse_hydrology(self, settings: list) -> None:
        hydrology = [k for k, _ in settings if k.split(".")[0] in ("hydrology", "parameters", "uncertainty")]
        if hydrology:
            raise ScenarioError([Problem(str(self.run_file), "negotiate", ", ".join(hydrology),
                                         "agreement settings that leave the hydrology alone (no hydrology.*, parameters.* or uncertainty.* key)")])

    @staticmethod
    def _structural(settings: list) -> list:
        """The settings that change the network or the years (not Qosh Tepa's, the rule's or its options)."""
        return [(k, v) for k, v in settings if not (k == "rule" or k.split(".")[0] in ("qosh_tepa", "allocation"))]

    def run(self, settings: list, keep_plants: bool = False):
        """The results of the run file with `settings` on top (the kept variables of a counterpart run), members of
        every parameter set stacked. Qosh Tepa, rule and allocation settings reuse the run's inflows; any other
        key (a reservoir's filling, say) is built once per distinct value; hydrology keys are refused. `keep_plants`:
        the plants' release and storage too (for their energy)."""
        from hydro.layout import layout_json
        from hydro.runner import counterpart, stack_members

        self._refuse_hydrology(settings)
        parts = []
        for scenario, inputs in self._prepare(self._structural(settings)):
            parts.append(counterpart(scenario, [*self.overrides, *settings], "agreement", inputs, keep_plants=keep_plants))
            if keep_plants:  # the layout, so that energy readers find the plants' figures
                parts[-1].attrs["network_json"] = layout_json(inputs.network)
            self.simulations += 1
            self.member_runs += parts[-1].sizes["member"]
        return parts[0] if len(parts) == 1 else stack_members(parts)

    def measure(self, settings: list) -> dict:
        """The figures of one agreement (module docstring), from the simulation's arrays (no Dataset is built)."""
        from hydro.runner import counterpart_arrays

        self._refuse_hydrology(settings)
        parts = []
        for scenario, inputs in self._prepare(self._structural(settings)):
            other, used, arrays = counterpart_arrays(scenario, [*self.overrides, *settings], "agreement", inputs)
            parts.append(Kept.of_arrays(used.network, arrays, used.year_type[:, other.warmup_months:], other.reported_axis.water_year))
            self.simulations += 1
            self.member_runs += parts[-1].demand.shape[0]
        return figures(Kept.stack(parts))


@dataclass
class Kept:
    """What an agreement's figures need, as numpy: per offtake its state, and (member, time[, offtake]) hm3 per month
    of demand and shortfall, Qosh Tepa's withdrawal and the delta's inflow; the dry months and each month's water
    year."""

    state: np.ndarray
    demand: np.ndarray
    shortfall: np.ndarray
    qt: np.ndarray | None
    delta: np.ndarray | None
    dry: np.ndarray
    water_year: np.ndarray

    @classmethod
    def of_dataset(cls, ds) -> "Kept":
        nodes = [str(n) for n in ds.node.values]
        kind = np.asarray(ds.kind.values).astype(str)
        off = np.flatnonzero(kind == "offtake")
        order = ("member", "time", "node")

        def at(var, name):
            return np.asarray(ds[var].isel(node=nodes.index(name)).transpose("member", "time").values, dtype=float) if name in nodes else None

        dry = (np.asarray(ds.year_type.transpose("member", "time").values) == "dry") if "year_type" in ds.coords else \
            np.zeros((ds.sizes["member"], ds.sizes["time"]), bool)
        return cls(np.asarray(ds.state.values).astype(str)[off],
                   np.asarray(ds.demand.isel(node=off).transpose(*order).values, dtype=float),
                   np.asarray(ds.shortfall.isel(node=off).transpose(*order).values, dtype=float),
                   at("withdrawal", "qosh_tepa"), at("inflow", DELTA), dry, np.asarray(ds.water_year.values))

    @classmethod
    def of_arrays(cls, network, arrays: dict, year_type: np.ndarray, water_year: np.ndarray) -> "Kept":
        """From :func:`hydro.simulate.simulate`'s arrays (nodes ``arrays["nodes"]``) and the run's year types."""
        nodes = [int(i) for i in arrays["nodes"]]
        names = [network.names[i] for i in nodes]
        off = [k for k, i in enumerate(nodes) if network.kind_name[i] == "offtake"]

        def at(var, name):
            return arrays[var][:, :, names.index(name)] if name in names else None

        return cls(np.array([network.state[nodes[k]] for k in off]), arrays["demand"][:, :, off], arrays["shortfall"][:, :, off],
                   at("withdrawal", "qosh_tepa"), at("inflow", DELTA), np.asarray(year_type).astype(str) == "dry", np.asarray(water_year))

    @classmethod
    def stack(cls, parts: list) -> "Kept":
        """Parameter sets' members one after the other."""
        if len(parts) == 1:
            return parts[0]

        def cat(name):
            values = [getattr(p, name) for p in parts]
            return None if values[0] is None else np.concatenate(values, axis=0)

        return cls(parts[0].state, cat("demand"), cat("shortfall"), cat("qt"), cat("delta"), cat("dry"), parts[0].water_year)


def figures(run) -> dict:
    """An agreement's figures (module docstring) from its results (a Dataset, or :class:`Kept`), in numpy: the same
    arithmetic as :func:`hydro.metrics.state_summary` and :func:`hydro.metrics.member_shortfall`; NaN for the
    dry-year figures of a run without a dry year."""
    k = run if isinstance(run, Kept) else Kept.of_dataset(run)
    members, months = k.demand.shape[:2]
    years = months / 12.0
    out = {"afg_withdrawal_km3": float(k.qt.sum() / members / years / 1000.0) if k.qt is not None else 0.0,
           "delta_inflow_km3": float(k.delta.sum() / members / years / 1000.0) if k.delta is not None else np.nan}
    dry = k.dry
    if not dry.any():
        for s in (*DOWNSTREAM, "UZB_TKM"):
            out[f"{s}_dry_pct"] = out[f"{s}_dry_p90_pct"] = np.nan
        return out
    dry_years = np.array([len(np.unique(k.water_year[row])) for row in dry], dtype=float)  # each member's dry water years
    short_all, demand_all, together, n_all = np.zeros(members), 0.0, 0.0, dry_years.sum()
    for s in DOWNSTREAM:
        idx = np.flatnonzero(k.state == s)
        if not len(idx):
            out[f"{s}_dry_pct"] = out[f"{s}_dry_p90_pct"] = np.nan
            continue
        short = k.shortfall[:, :, idx].sum(axis=2)
        demand = k.demand[:, :, idx].sum(axis=2)
        per_member = np.where(dry, short, 0.0).sum(axis=1)  # hm3 over each member's dry years
        demand_year = float(np.where(dry, demand, 0.0).sum() / n_all)  # hm3 per dry member-year
        out[f"{s}_dry_pct"] = 100.0 * float(per_member.sum() / n_all) / demand_year
        with np.errstate(invalid="ignore", divide="ignore"):
            member_year = np.where(dry_years > 0, per_member / np.where(dry_years > 0, dry_years, 1.0), np.nan)
        out[f"{s}_dry_p90_pct"] = 100.0 * float(np.nanquantile(member_year, 0.9)) / demand_year
        short_all = short_all + np.nan_to_num(member_year)
        demand_all += demand_year
        together += float(per_member.sum() / n_all)
    if demand_all > 0:
        has_dry = dry_years > 0  # a member without a dry year has no dry-year figure
        out["UZB_TKM_dry_pct"] = 100.0 * together / demand_all
        out["UZB_TKM_dry_p90_pct"] = 100.0 * float(np.quantile(short_all[has_dry], 0.9)) / demand_all
        out["_members_pct"] = np.where(has_dry, 100.0 * short_all / demand_all, np.nan)  # each member's UZB + TKM dry-year shortfall
    else:
        out["UZB_TKM_dry_pct"] = out["UZB_TKM_dry_p90_pct"] = np.nan
    return out


# ------------------------------------------------------------------ the single question: the largest admissible cap


def admissible(evaluator: Evaluator, rules: list[str], thresholds_pct: list[float], cap_max_km3: float, base_settings: list | None = None,
               grid_step_km3: float = 1.0, xtol_km3: float = 0.01) -> pd.DataFrame:
    """Per rule, measure and threshold X: the largest Qosh Tepa cap (km3/yr) at which the UZB + TKM dry-year
    shortfall is at or under X % ("total"), or Qosh Tepa adds at most X % ("added").

    A grid of caps (every `grid_step_km3` up to `cap_max_km3`) brackets the first crossing; brentq then finds it to
    `xtol_km3`. The band: each member's own largest admissible cap on the grid (linear between grid points), 5-95 %.
    ``check_pct`` is the measure in a plain run at the cap found: the shortfall the search promised."""
    from scipy.optimize import brentq

    base_settings = list(base_settings or [])
    levels = np.round(np.arange(0.0, cap_max_km3 + 1e-9, grid_step_km3), 6)
    rows = []
    for rule in rules:
        def run_at(cap, rule=rule):
            return figures(evaluator.run([*base_settings, (QT_KEY, float(cap)), ("rule", rule)]))

        grid = [run_at(c) for c in levels]
        if not np.isfinite(grid[0]["UZB_TKM_dry_pct"]):
            raise ScenarioError([Problem(str(evaluator.run_file), "hydrology", "<no dry water year>",
                                         "a run with dry water years (e.g. hydrology.kind = \"stochastic\" with 20 or more members)")])
        without = grid[0]
        total = np.array([g["UZB_TKM_dry_pct"] for g in grid])
        members = np.array([g["_members_pct"] for g in grid])  # (levels, members)
        for measure in MEASURES:
            offset = 0.0 if measure == "total" else without["UZB_TKM_dry_pct"]
            member_offset = 0.0 if measure == "total" else members[0]
            for x in thresholds_pct:
                curve = total - offset
                status, cap = _largest_under(levels, curve, x)
                if status == "interior":
                    i = int(np.flatnonzero(curve > x)[0])
                    cap = brentq(lambda c, rule=rule, offset=offset, x=x: run_at(c, rule)["UZB_TKM_dry_pct"] - offset - x,
                                 levels[i - 1], levels[i], xtol=xtol_km3)
                per_member = [_largest_under(levels, members[:, m] - (member_offset[m] if measure == "added" else 0.0), x)[1]
                              for m in range(members.shape[1]) if np.isfinite(members[:, m]).all()]  # members with dry years
                check = run_at(cap, rule)["UZB_TKM_dry_pct"] - offset
                rows.append({"rule": rule, "measure": measure, "threshold_pct": float(x), "withdrawal_km3": float(cap),
                             "withdrawal_p05_km3": float(np.quantile(per_member, 0.05)) if per_member else np.nan,
                             "withdrawal_p95_km3": float(np.quantile(per_member, 0.95)) if per_member else np.nan,
                             "check_pct": float(check), "without_qosh_tepa_pct": float(without["UZB_TKM_dry_pct"]), "status": status})
    return pd.DataFrame(rows)


def _largest_under(levels: np.ndarray, curve: np.ndarray, x: float) -> tuple[str, float]:
    """The largest level before `curve` first rises above `x` (linear between levels): ('none', 0) when it is above
    already at the first level, ('all', last level) when it never is, else ('interior', the interpolated level)."""
    above = np.flatnonzero(curve > x + 1e-12)
    if not len(above):
        return "all", float(levels[-1])
    i = int(above[0])
    if i == 0:
        return "none", 0.0
    a, b = curve[i - 1], curve[i]
    return "interior", float(levels[i - 1] + (x - a) / (b - a) * (levels[i] - levels[i - 1])) if b > a else float(levels[i - 1])


# ------------------------------------------------------------------ the run file's [negotiate] table


@dataclass
class Options:
    rules: list[str]
    thresholds_pct: list[float]
    cap_max_km3: float
    no_agreement: list
    agreements: dict[str, list]
    population: int
    generations: int
    seed: int
    max_dry_pct: float
    weights: dict = field(default_factory=dict)  # party -> weight of its objective in the best compromise


def options_of(scenario: Scenario, where: str) -> Options:
    """The run file's ``[negotiate]`` table (checked when the run file loads), with its defaults."""
    from hydro.scenario import SCHEMA

    raw = scenario.doc.get("negotiate", {})

    def get(key):
        return raw.get(key, SCHEMA[f"negotiate.{key}"][1])

    settings = {"no_agreement": [parse_set(x) for x in get("no_agreement")],
                "agreements": {str(k): [parse_set(x) for x in v] for k, v in get("agreements").items()}}
    return Options(list(get("rules") or [scenario.rule]), [float(x) for x in get("thresholds_pct")], float(get("cap_max_km3")),
                   settings["no_agreement"], settings["agreements"], int(get("population")), int(get("generations")), int(get("seed")),
                   float(get("max_dry_pct")), {str(k): float(v) for k, v in get("weights").items()})


def load_agreements(path) -> dict[str, list]:
    """A file of named agreements (TOML: ``[agreements]`` then ``name = ["KEY=VALUE", ...]``), as name -> settings;
    ScenarioError naming the file and the entry otherwise."""
    import tomllib
    from pathlib import Path

    where = str(path)
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ScenarioError([Problem(where, "<file>", str(err).splitlines()[0] if str(err) else type(err).__name__, "a readable TOML file")]) from None
    table = doc.get("agreements")
    if not isinstance(table, dict) or not table:
        raise ScenarioError([Problem(where, "agreements", table if table is not None else "<missing>",
                                     "an [agreements] table: name = [\"KEY=VALUE\", ...], one line per agreement")])
    problems = [Problem(where, f"agreements.{name}", v, "a non-empty list of 'KEY=VALUE' run-file settings")
                for name, v in table.items() if not (isinstance(v, list) and v and all(isinstance(x, str) and "=" in x for x in v))]
    if problems:
        raise ScenarioError(problems)
    return {str(name): [parse_set(x) for x in v] for name, v in table.items()}


def check_agreements(run_file, overrides: list, agreements: dict[str, list], sources: dict[str, str] | None = None) -> None:
    """Every agreement loads as a run (its settings on the run file): all problems at once, each naming its
    agreement and the file it comes from (`sources`: name -> file; default the run file), before anything runs."""
    problems = []
    for name, settings in agreements.items():
        try:
            load_scenario(run_file, [*overrides, *settings])
        except ScenarioError as err:
            where = (sources or {}).get(name, str(run_file))
            problems.extend(Problem(where if p.file == "<command line>" else p.file, f"agreements.{name}: {p.key.removeprefix('--set ')}",
                                    p.found, p.expected) for p in err.problems)
    if problems:
        raise ScenarioError(problems)


def provenance(evaluator: Evaluator, options: Options) -> dict:
    """What a negotiation ran on: run file, settings, members, years, parameter sets and the search's sizes."""
    b = evaluator.base
    return json.loads(json.dumps({
        "run_file": str(evaluator.run_file), "overrides": [f"{k}={v}" for k, v in evaluator.overrides], "basin": str(b.basin_path),
        "members_per_set": b.members, "parameter_sets": b.parameter_sets,
        "years": b.axis.months // 12, "rules": options.rules, "thresholds_pct": options.thresholds_pct,
        "dry_year": f"natural flow at Kerki exceeded in >= {b.analysis['dry_exceedance']:.0%} of years",
        "measures": MEASURES, "simulations": evaluator.simulations, "member_runs": evaluator.member_runs,
    }, default=str))


# ------------------------------------------------------------------ the Pareto set of caps and seasons

VARIABLES = (("cap_km3", "Qosh Tepa's annual cap, km3/yr"), ("growing_share", "share of it taken in April-September"),
             ("spring_cut", "share of April-May's part given up"))
OBJECTIVES = (("afg_withdrawal_km3", -1), ("UZB_dry_p90_pct", 1), ("TKM_dry_p90_pct", 1), ("delta_inflow_km3", -1))


def search(evaluator: Evaluator, options: Options, tick=None) -> pd.DataFrame:
    """Per rule, NSGA-II (pymoo) over the cap (0 to ``cap_max_km3``), the growing-season share and the spring cut:
    maximise Afghanistan's withdrawal and the delta's inflow, minimise UZB's and TKM's 90th-percentile dry-year
    shortfall, subject to no state's mean dry-year shortfall above ``max_dry_pct``. Returns every agreement the
    search evaluated (one row each: rule, variables, figures, ``feasible``, ``pareto``: non-dominated among the
    feasible ones of all rules)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.optimize import minimize

    rows = []
    for rule in options.rules:
        class Agreements(PymooProblem):
            def __init__(self):
                super().__init__(n_var=3, n_obj=len(OBJECTIVES), n_ieq_constr=1, xl=np.array([0.0, 0.0, 0.0]),
                                 xu=np.array([options.cap_max_km3, 1.0, 1.0]))

            def _evaluate(self, x, out, *args, **kwargs):
                f, g = [], []
                for cap, share, cut in x:
                    fig = evaluator.measure(agreement_settings(cap, share, cut, rule))
                    fig.pop("_members_pct", None)
                    rows.append({"rule": rule, "cap_km3": float(cap), "growing_share": float(share), "spring_cut": float(cut), **fig})
                    f.append([sign * fig[name] for name, sign in OBJECTIVES])
                    g.append([max(fig[f"{s}_dry_pct"] for s in DOWNSTREAM) - options.max_dry_pct])
                    if tick:
                        tick()
                out["F"], out["G"] = np.array(f), np.array(g)

        minimize(Agreements(), NSGA2(pop_size=options.population), ("n_gen", options.generations), seed=options.seed, verbose=False)
    table = pd.DataFrame(rows)
    table["feasible"] = table[[f"{s}_dry_pct" for s in DOWNSTREAM]].max(axis=1) <= options.max_dry_pct + 1e-9
    table["pareto"] = False
    feasible = table.index[table.feasible]
    table.loc[feasible, "pareto"] = non_dominated(table.loc[feasible, [n for n, _ in OBJECTIVES]].to_numpy() * [s for _, s in OBJECTIVES])
    return table


def non_dominated(f: np.ndarray) -> np.ndarray:
    """True for each row of `f` (objectives to minimise) that no other row dominates (as good in all, better in one)."""
    f = np.asarray(f, dtype=float)
    keep = np.ones(len(f), dtype=bool)
    for i in range(len(f)):
        others = np.delete(f, i, axis=0)
        keep[i] = not np.any(np.all(others <= f[i], axis=1) & np.any(others < f[i], axis=1))
    return keep


def better_than(table: pd.DataFrame, reference: dict, tol: float = 1e-9) -> pd.Series:
    """True where an agreement leaves every party at least as well off as `reference` (no agreement): Afghanistan
    takes at least as much, Uzbekistan and Turkmenistan lose no more in their dry years (90th percentile)."""
    return ((table.afg_withdrawal_km3 >= reference["afg_withdrawal_km3"] - tol)
            & (table.UZB_dry_p90_pct <= reference["UZB_dry_p90_pct"] + tol)
            & (table.TKM_dry_p90_pct <= reference["TKM_dry_p90_pct"] + tol))


def least_cost_season(evaluator: Evaluator, rules: list[str], cap_km3: float, max_evaluations: int = 60) -> pd.DataFrame:
    """Per rule: the season (share in April-September, share of April-May given up) that takes `cap_km3` a year at
    the least UZB + TKM dry-year shortfall (mean, % of demand), by scipy's bounded Powell search from the seasonal
    pattern the ICWC states follow (71.4 % in April-September); beside it the seasonal pattern's own figures."""
    from scipy.optimize import minimize

    rows = []
    for rule in rules:
        def cost(x, rule=rule):
            return evaluator.measure(agreement_settings(cap_km3, float(x[0]), float(x[1]), rule))["UZB_TKM_dry_pct"]

        seasonal = evaluator.measure([(QT_KEY, float(cap_km3)), ("rule", rule)])
        best = minimize(cost, x0=[0.714, 0.0], method="Powell", bounds=[(0.0, 1.0), (0.0, 1.0)],
                        options={"xtol": 0.01, "ftol": 1e-4, "maxfev": max_evaluations})
        fig = evaluator.measure(agreement_settings(cap_km3, float(best.x[0]), float(best.x[1]), rule))
        rows.append({"rule": rule, "cap_km3": float(cap_km3), "growing_share": float(best.x[0]), "spring_cut": float(best.x[1]),
                     "pattern": json.dumps(season_pattern(float(best.x[0]), float(best.x[1]))),
                     "afg_withdrawal_km3": fig["afg_withdrawal_km3"], "UZB_TKM_dry_pct": fig["UZB_TKM_dry_pct"],
                     "UZB_dry_pct": fig["UZB_dry_pct"], "TKM_dry_pct": fig["TKM_dry_pct"],
                     "seasonal_UZB_TKM_dry_pct": seasonal["UZB_TKM_dry_pct"], "seasonal_afg_withdrawal_km3": seasonal["afg_withdrawal_km3"],
                     "evaluations": int(best.nfev)})
    return pd.DataFrame(rows)


def pareto_dataset(front: pd.DataFrame, title: str, history: str, provenance: dict):
    """The Pareto set as a CF-1.8 Dataset (pareto.nc): one ``agreement`` dimension, each variable and figure with its
    long name and units, the rule as a coordinate."""
    import xarray as xr

    names = dict(VARIABLES)
    units = {"cap_km3": "km3 yr-1", "growing_share": "1", "spring_cut": "1", "afg_withdrawal_km3": "km3 yr-1", "delta_inflow_km3": "km3 yr-1"}
    data = {c: ("agreement", front[c].to_numpy(), {"long_name": names.get(c, c.replace("_", " ")), "units": units.get(c, "%")})
            for c in front.columns if c not in ("rule", "pareto", "feasible", "better_than_no_agreement")}
    return xr.Dataset(data, coords={"agreement": np.arange(len(front)), "rule": ("agreement", front.rule.astype(str).to_numpy().astype(object))},
                      attrs={"Conventions": "CF-1.8", "title": title, "history": history, "provenance_json": json.dumps(provenance)})


PARTIES = {"afghanistan": "afg_withdrawal_km3", "uzbekistan": "UZB_dry_p90_pct", "turkmenistan": "TKM_dry_p90_pct",
           "delta": "delta_inflow_km3"}


def compromise(front: pd.DataFrame, weights: dict) -> pd.Series:
    """The best compromise of the Pareto set under stated `weights` (party -> weight): each party's objective scaled
    over the front to 0 (its worst) - 1 (its best); the agreement whose largest weighted shortfall from a party's best,
    max_p w_p (1 - u_p), is smallest (the weighted Chebyshev point, which, unlike a weighted sum, does not run to a
    corner of a straight front). ``compromise_gap`` is that largest weighted shortfall (0 = every party at its best)."""
    total = sum(weights.values())
    gap = pd.Series(0.0, index=front.index)
    for party, w in weights.items():
        column = PARTIES[party]
        x = -dict(OBJECTIVES)[column] * front[column]  # larger is better for the party
        span = float(x.max() - x.min())
        utility = (x - x.min()) / span if span > 0 else pd.Series(1.0, index=front.index)
        gap = np.maximum(gap, w / total * (1.0 - utility))
    best = front.loc[gap.idxmin()].copy()
    best["compromise_gap"] = float(gap.min())
    return best
