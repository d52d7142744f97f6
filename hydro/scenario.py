"""Run files (``runs/*.toml``): what to simulate, with ``--set KEY=VALUE`` overrides.

A run file names the basin (a path relative to the run file), the allocation rule, the period, the inflows and
the Qosh Tepa settings. Every key is checked before anything runs; all problems are raised together in a
:class:`~hydro.errors.ScenarioError`.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hydro.errors import TOO_DEEP, Collector, ScenarioError, did_you_mean, read_failure, too_deep
from hydro.reservoirs import OVERRIDE_KEYS, check_options
from hydro.timeaxis import TimeAxis, parse_month

FORMAT_VERSION = 1
QT_PATTERNS = ("seasonal", "uniform", "kerki")
HYDROLOGY_KINDS = ("climatology", "stochastic", "year_type", "historical", "series")
YEAR_TYPES = ("dry", "normal", "wet")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _check_month(v) -> str | None:
    try:
        parse_month(v)
        return None
    except ValueError as err:
        return str(err)


REQUIRED = object()  # default of a key the run file must give
MAX_MEMBERS = 100_000  # larger ensembles belong in a sweep of member blocks
LAST_MONTH_END = np.datetime64("2262-04", "M")  # datetime64[ns], the results' time coordinate, ends on 2262-04-11

# key -> (check returning None or the expectation, default)
SCHEMA: dict[str, tuple] = {
    "format_version": (lambda v: None if v == FORMAT_VERSION else f"{FORMAT_VERSION}", REQUIRED),
    "basin": (lambda v: None if isinstance(v, str) and v else "the basin folder, relative to the run file", REQUIRED),
    "title": (lambda v: None if isinstance(v, str) else "a string", ""),
    "description": (lambda v: None if isinstance(v, str) else "a string", ""),
    "rule": (lambda v: None if isinstance(v, str) else "the name of an allocation rule", "upstream_first"),
    "time.start": (lambda v: _check_month(v), REQUIRED),
    "time.years": (lambda v: None if _is_int(v) and 1 <= v <= 1000 else "a whole number of years from 1 to 1000", REQUIRED),
    "hydrology.kind": (lambda v: None if v in HYDROLOGY_KINDS else did_you_mean(str(v), HYDROLOGY_KINDS), "climatology"),
    "hydrology.members": (lambda v: None if _is_int(v) and 1 <= v <= MAX_MEMBERS else f"a whole number from 1 to {MAX_MEMBERS:,}", 1),
    "hydrology.seed": (lambda v: None if _is_int(v) and 0 <= v < 2**32 else "a whole number from 0 to 2**32 - 1", 0),
    "hydrology.series": (lambda v: None if isinstance(v, str) and v else "a CSV or netCDF file of monthly inflows (m3/s), relative to the run file", ""),
    "hydrology.scale": (lambda v: None if _is_number(v) and 0 < v <= 10 else "a factor on every natural inflow, > 0 (e.g. 0.9 for 10 % less water)", 1.0),
    "hydrology.melt_shift_weeks": (lambda v: None if _is_number(v) and 0 <= v <= 26 else "weeks by which the melt comes earlier, 0 to 26", 0.0),
    "hydrology.year": (lambda v: None if v in YEAR_TYPES else did_you_mean(str(v), YEAR_TYPES), "dry"),
    "hydrology.exceedance": (lambda v: None if _is_number(v) and 0 < v < 1 else "the share of years whose flow at Kerki is at least this year's, between 0 and 1 (e.g. 0.9)", None),
    "hydrology.replay": (lambda v: None if isinstance(v, list) and v and all(_is_int(x) for x in v) else "a list of recorded years, e.g. [2021]", [2021]),
    "hydrology.annual_cv": (lambda v: None if _is_number(v) and 0 <= v < 1 else "a coefficient of variation of annual flows for every inflow node, 0 to below 1", None),
    "hydrology.lag1": (lambda v: None if _is_number(v) and 0 <= v < 1 else "a lag-1 autocorrelation of annual flows, 0 to below 1", None),
    "hydrology.cross_correlation": (lambda v: None if _is_number(v) and 0 <= v < 1 else "a correlation between the tributaries' annual flows, 0 to below 1", None),
    "analysis.dry_exceedance": (lambda v: None if _is_number(v) and 0.5 < v < 1 else "the exceedance probability from which a year is dry, between 0.5 and 1", 0.75),
    "analysis.wet_exceedance": (lambda v: None if _is_number(v) and 0 < v < 0.5 else "the exceedance probability up to which a year is wet, between 0 and 0.5", 0.25),
    "analysis.warmup_years": (lambda v: None if _is_int(v) and 0 <= v <= 100 else "whole years simulated first and left out of every result, 0 to 100", None),
    "qosh_tepa.withdrawal_km3": (lambda v: None if _is_number(v) and v >= 0 else "an annual target in km3/yr, >= 0", 0.0),
    "qosh_tepa.capacity_m3s": (lambda v: None if _is_number(v) and v > 0 else "the canal head capacity in m3/s, > 0", 650.0),
    "qosh_tepa.start": (lambda v: _check_month(v), ""),
    "qosh_tepa.pattern": (
        lambda v: None
        if v in QT_PATTERNS or (isinstance(v, list) and len(v) == 12 and all(_is_number(x) and 0 <= x <= 1e9 for x in v) and sum(v) > 0)
        else f"one of {list(QT_PATTERNS)} or 12 monthly weights from 0 to 1e9, Jan to Dec, not all 0",
        "seasonal",
    ),
    "sweep.vary": (lambda v: None if isinstance(v, list) and v and all(isinstance(x, str) and "=" in x for x in v) else "a list of 'KEY=SPEC' strings for hydro sweep", []),
    "compare.rules": (lambda v: None if isinstance(v, list) and v and all(isinstance(x, str) for x in v) else "a list of rule names for hydro compare", []),
    "compare.qosh_tepa_km3": (lambda v: None if isinstance(v, list) and v and all(_is_number(x) and x >= 0 for x in v) else "a list of Qosh Tepa targets in km3/yr for hydro compare", []),
    "qosh_tepa.conveyance_loss": (lambda v: None if _is_number(v) and 0 <= v < 1 else "a fraction from 0 to below 1", 0.0),
    "hindcast.validate": (lambda v: None if isinstance(v, list) and all(_is_int(x) for x in v) else "a list of recorded years held out of calibration, e.g. [2024]", [2024]),
    "uncertainty.parameter_sets": (lambda v: None if _is_int(v) and 0 <= v <= 1000 else
                                   "how many of the basin's behavioural parameter sets to cross with the hydrological members, 0 (none) to 1000", 0),
    "attribution.projects": (lambda v: None if isinstance(v, dict) and 1 <= len(v) <= 3 and all(
        isinstance(x, list) and x and all(isinstance(y, str) and "=" in y for y in x) for x in v.values()) else
        "1 to 3 projects, each a list of 'KEY=VALUE' settings that switch it off (hydro attribute)", {}),
    "hindcast.observed_demand": (lambda v: None if isinstance(v, bool) else "true or false: set each state's demand to its recorded use where a year publishes it", False),
}
SECTIONS = {"time", "hydrology", "qosh_tepa", "reservoirs", "allocation", "compare", "sweep", "hindcast", "parameters", "uncertainty", "analysis",
            "attribution", "negotiate"}


_CHECKED_BASINS: dict = {}  # (folder, its files' names, sizes and mtimes, parameters) -> Basin, for validation only


def _basin_to_check(path, parameters: dict | None = None):
    """The basin at `path` (with `parameters`) for checking a run against it: loaded once per process for as long
    as none of the folder's files changes (their names, sizes and modification times key it), so that a search
    that validates thousands of agreements does not read and check the same basin every time. Read only: the runs
    themselves load their own basin."""
    import json

    from hydro.basin import load_basin

    main = Path(path) / "basin.toml" if Path(path).is_dir() else Path(path)
    try:
        files = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(main.parent.iterdir()) if f.is_file())
    except OSError:
        return load_basin(path, parameters)
    key = (str(main.resolve()), files, json.dumps(parameters or {}, sort_keys=True, default=str))
    if key not in _CHECKED_BASINS:
        if len(_CHECKED_BASINS) >= 32:
            _CHECKED_BASINS.clear()
        _CHECKED_BASINS[key] = load_basin(path, parameters)
    return _CHECKED_BASINS[key]


def _rules(v) -> str | None:
    from hydro.allocation import RULES

    ok = isinstance(v, list) and v and all(isinstance(r, str) and r in RULES for r in v) and len(set(v)) == len(v)
    return None if ok else f"a list of distinct allocation rules from {sorted(RULES)}"


def _settings_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and "=" in x for x in v)


def _check_build_out(v) -> str | None:
    expected = "a list of [\"YYYY-MM\", share] pairs, months increasing, shares 0-1 (the share of the annual target the canal can take)"
    if not isinstance(v, list):
        return expected
    months = []
    for pair in v:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and _check_month(pair[0]) is None
                and _is_number(pair[1]) and 0 <= pair[1] <= 1):
            return expected
        months.append(parse_month(pair[0]))
    return None if all(a < b for a, b in zip(months, months[1:])) else expected


def _check_trend(v) -> str | None:
    expected = "a list of [water year, factor] pairs, years increasing, factors > 0 (e.g. [[2026, 1.0], [2050, 0.9]])"
    ok = isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 and _is_int(p[0]) and _is_number(p[1]) and 0 < p[1] <= 10 for p in v)
    return None if ok and all(a[0] < b[0] for a, b in zip(v, v[1:])) else expected


SCHEMA.update({  # time-varying settings: Qosh Tepa's build-out and a trend on the natural flow (a timeline)
    "qosh_tepa.build_out": (_check_build_out, []),
    "hydrology.trend": (_check_trend, []),
})

SCHEMA.update({  # hydro negotiate (hydro/negotiation.py)
    "negotiate.rules": (_rules, None),
    "negotiate.thresholds_pct": (lambda v: None if isinstance(v, list) and v and all(_is_number(x) and 0 <= x <= 100 for x in v)
                                 else "a list of UZB + TKM dry-year shortfall thresholds in % of demand, 0-100", [5, 10, 15]),
    "negotiate.cap_max_km3": (lambda v: None if _is_number(v) and 0.1 <= v <= 20.5 else "the largest Qosh Tepa cap searched, km3/yr, 0.1-20.5", 10.0),
    "negotiate.no_agreement": (lambda v: None if _settings_list(v) else "a list of 'KEY=VALUE' settings: what Afghanistan takes without an agreement",
                               ["qosh_tepa.withdrawal_km3=10"]),
    "negotiate.agreements": (lambda v: None if isinstance(v, dict) and all(_settings_list(x) and x for x in v.values())
                             else "named agreements, each a list of 'KEY=VALUE' run-file settings", {}),
    "negotiate.population": (lambda v: None if _is_int(v) and 4 <= v <= 400 else "agreements per generation, 4-400", 24),
    "negotiate.generations": (lambda v: None if _is_int(v) and 1 <= v <= 200 else "generations of the search, 1-200", 8),
    "negotiate.seed": (lambda v: None if _is_int(v) and 0 <= v < 2**32 else "a whole number from 0 to 2**32 - 1", 1),
    "negotiate.weights": (lambda v: None if isinstance(v, dict) and v and set(v) <= {"afghanistan", "uzbekistan", "turkmenistan", "delta"}
                          and all(_is_number(x) and x >= 0 for x in v.values()) and sum(v.values()) > 0
                          else "weights >= 0 (not all 0) of afghanistan, uzbekistan, turkmenistan and delta for the best compromise",
                          {"afghanistan": 1.0, "uzbekistan": 1.0, "turkmenistan": 1.0, "delta": 1.0}),
    "negotiate.max_dry_pct": (lambda v: None if _is_number(v) and 0 <= v <= 100 else "the largest mean dry-year shortfall a downstream state accepts, % of demand", 100.0),
})


@dataclass
class QoshTepa:
    """Qosh Tepa settings of a run: annual target, canal capacity, monthly pattern, first month, canal loss."""

    withdrawal_km3: float
    capacity_m3s: float
    start: np.datetime64 | None
    pattern: str | list[float]
    conveyance_loss: float
    build_out: list = field(default_factory=list)  # (month, share of the annual target): linear between, flat beyond


@dataclass
class Scenario:
    """A validated run: the document after overrides, plus resolved paths and typed settings."""

    path: Path | None
    doc: dict
    basin_path: Path
    rule: str
    axis: TimeAxis
    hydrology_kind: str
    members: int
    seed: int
    series_path: Path | None
    qosh_tepa: QoshTepa
    reservoirs_enabled: dict[str, bool]
    title: str
    allocation: dict
    scale: float
    compare_rules: list
    compare_qosh_tepa_km3: list
    sweep_vary: list
    hydrology: dict  # every hydrology.* value after defaults (key without the prefix)
    parameters: dict = field(default_factory=dict)  # [parameters]: basin figure path -> value (hydro.basin.set_parameters)
    analysis: dict = field(default_factory=lambda: {"dry_exceedance": 0.75, "wet_exceedance": 0.25, "warmup_years": 1})  # analysis.* after defaults
    overrides: list = field(default_factory=list)  # the --set (key, value) pairs applied to the run file
    reservoirs_operation: dict = field(default_factory=dict)  # reservoirs.<name>: options other than enabled (hydro.reservoirs.check_options)
    parameter_sets: int = 0  # uncertainty.parameter_sets: the basin's behavioural sets crossed with the members (hydro.parameter_sets)

    @property
    def warmup_months(self) -> int:
        """Months simulated first and left out of the results (analysis.warmup_years x 12)."""
        return 12 * int(self.analysis["warmup_years"])

    @property
    def reported_axis(self) -> TimeAxis:
        """The months the results hold: the run's period after its warm-up."""
        return TimeAxis(self.axis.start + self.warmup_months, self.axis.months - self.warmup_months)

    @property
    def simulations(self) -> int:
        """Members the run simulates: its hydrological members under each of its parameter sets."""
        return self.members * max(1, self.parameter_sets)

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "run"


def _get(doc: dict, dotted: str):
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def parse_set(text: str) -> tuple[str, object]:
    """'qosh_tepa.withdrawal_km3=8' -> ('qosh_tepa.withdrawal_km3', 8). The value is read as TOML, else as a string."""
    if "=" not in text:
        raise ScenarioError([_problem("--set", text, "KEY=VALUE, e.g. qosh_tepa.withdrawal_km3=8")])
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        value = None
    if value is None or too_deep(value):
        raise ScenarioError([_problem(f"--set {key}", "<nested too deeply>", TOO_DEEP.replace("a TOML file", "a TOML value"))])
    return key, value


def _problem(key, found, expected, file="<command line>"):
    from hydro.errors import Problem

    return Problem(file, key, found, expected)


def apply_overrides(doc: dict, overrides: list[tuple[str, object]], basin_reservoirs: list[str] | None = None) -> dict:
    """Return a copy of `doc` with each (dotted key, value) set; unknown keys raise with the nearest known key."""
    doc = copy.deepcopy(doc)
    problems = Collector("<command line>")
    known = list(SCHEMA) + [f"reservoirs.{r}.{k}" for r in (basin_reservoirs or []) for k in OVERRIDE_KEYS]
    for key, value in overrides:
        dynamic = (key.startswith("reservoirs.") and key.endswith(tuple(f".{k}" for k in OVERRIDE_KEYS)) and basin_reservoirs is None) or (
            key.startswith("allocation.") and key.count(".") == 1) or (  # rule options are checked against the rule
            key.startswith("parameters."))  # basin figures are checked against the basin
        if key not in known and not dynamic:
            problems.add(f"--set {key}", value, "a run-file key: " + did_you_mean(key, known))
            continue
        parts = key.split(".")
        cur = doc
        for i, p in enumerate(parts[:-1]):
            cur = cur.setdefault(p, {})
            if not isinstance(cur, dict):
                problems.add(f"--set {key}", value, f"a key inside a table, but {'.'.join(parts[:i + 1])!r} is not a table in the run file")
                break
        else:
            cur[parts[-1]] = value
    if problems:
        raise ScenarioError(problems.problems)
    return doc


def _blame_overrides(problems: list, overrides: list[tuple[str, object]]) -> list:
    """Problems with a key that --set gave are reported against the command line, not the run file."""
    from hydro.errors import Problem

    given = {key for key, _ in overrides}
    return [Problem("<command line>", f"--set {p.key}", p.found, p.expected) if p.key in given else p for p in problems]


def load_scenario(path: str | Path, overrides: list[tuple[str, object]] | None = None) -> Scenario:
    """Read a run file, apply overrides, validate every key; paths are resolved from the run file's folder."""
    path = Path(path)
    problems = Collector(path)
    if not path.is_file():
        problems.add("<file>", str(path), "an existing run file (TOML)")
        raise ScenarioError(problems.problems)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        problems.add("<toml>", str(err), "valid TOML")
        raise ScenarioError(problems.problems) from err
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        problems.add("<toml>", "<nested too deeply>", TOO_DEEP)
        raise ScenarioError(problems.problems) from None
    except (UnicodeDecodeError, OSError) as err:
        problems.add(*read_failure(err, "a readable run file (TOML)"))
        raise ScenarioError(problems.problems) from err
    if too_deep(doc):
        problems.add("<toml>", "<nested too deeply>", TOO_DEEP)
        raise ScenarioError(problems.problems)
    return scenario_from_dict(doc, path, overrides)


def scenario_from_dict(doc: dict, path: Path | None = None, overrides=None) -> Scenario:
    """Validate a run document (as read from TOML); `path` anchors relative paths (cwd when None)."""
    from hydro.errors import BasinError

    where = path if path is not None else "<run>"
    base = path.parent if path is not None else Path.cwd()
    doc = apply_overrides(doc, overrides or [], None)
    problems = Collector(where)

    for key, value in doc.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                problems.add(key, value, f"a [{key}] table")
                continue
            if key in ("reservoirs", "allocation", "parameters"):
                continue
            for sub in value:
                dotted = f"{key}.{sub}"
                if dotted not in SCHEMA:
                    problems.add(dotted, "<unknown key>", "a run-file key: " + did_you_mean(dotted, SCHEMA))
        elif key not in SCHEMA:
            problems.add(key, "<unknown key>", "a run-file key: " + did_you_mean(key, [*SCHEMA, *SECTIONS]))

    values = {}
    for key, (check, default) in SCHEMA.items():
        try:
            value = _get(doc, key)
        except KeyError:
            if default is REQUIRED:
                problems.add(key, "<missing>", "a value (required)")
                default = None
            values[key] = default
            continue
        msg = check(value)
        if msg:
            problems.add(key, value, msg)
        values[key] = value

    basin_path = (base / str(values["basin"])) if values.get("basin") else None
    reservoirs = doc.get("reservoirs", {}) if isinstance(doc.get("reservoirs", {}), dict) else {}
    enabled: dict[str, bool] = {}
    operation: dict[str, dict] = {}
    if basin_path is not None and not problems:
        basin = _basin_to_check(basin_path)  # a BasinError is reported as it is: it names its own file
        if not any(nd.kind == "offtake" for nd in basin.nodes.values()):
            # the simulator routes such a basin, but a run reports shortfall per state of its offtakes
            problems.add("basin", f"<{values['basin']}: no offtake node>", "a basin with at least one offtake node (a run's summaries are per state of its offtakes)")
        names = [n for n, nd in basin.nodes.items() if nd.kind == "reservoir"]
        for name, table in reservoirs.items():
            if name not in names:
                problems.add(f"reservoirs.{name}", "<unknown reservoir>", "a reservoir of the basin: " + did_you_mean(name, names))
                continue
            options = check_options(name, table, basin.nodes[name], basin, values.get("time.start") or "", problems)
            if options is None:
                continue
            if "enabled" in table:
                enabled[name] = table["enabled"]
            if set(options) - {"policy"} or options["policy"] != "curve":
                operation[name] = options

    parameters = _flatten(doc.get("parameters", {})) if isinstance(doc.get("parameters", {}), dict) else {}
    if not isinstance(doc.get("parameters", {}), dict):
        problems.add("parameters", doc.get("parameters"), "a [parameters] table of basin figures, e.g. \"node.vakhsh.annual_flow\" = \"21 km3/yr\"")
    if parameters and basin_path is not None and not problems:
        try:
            _basin_to_check(basin_path, parameters)
        except BasinError as err:  # the basin itself loaded: what is wrong comes from the run's values
            for p in err.problems:
                problems.add(f"parameters ({p.key})", p.found, p.expected)
    allocation = doc.get("allocation", {}) if isinstance(doc.get("allocation", {}), dict) else {}
    if isinstance(values["rule"], str) and not problems:
        from hydro.allocation import make_rule

        try:
            make_rule(values["rule"], str(where), allocation)
        except ScenarioError as err:
            problems.problems.extend(err.problems)

    if not problems:
        start = parse_month(values["time.start"])
        end = start + 12 * int(values["time.years"])  # the end of the last month (its upper time bound)
        if start < np.datetime64("1800-01", "M") or end > LAST_MONTH_END:
            problems.add("time", f"{values['time.start']} + {values['time.years']} years",
                         f"a period from 1800-01 ending by {LAST_MONTH_END} (the results' time coordinate and its bounds)")

    if values["uncertainty.parameter_sets"] and basin_path is not None and not problems:
        from hydro.parameter_sets import check

        problems.problems.extend(check(_basin_to_check(basin_path), values["uncertainty.parameter_sets"], str(where)))
    if values["analysis.warmup_years"] is None and _is_int(values["time.years"]):  # default: the first year, unless it is the only one
        values["analysis.warmup_years"] = 1 if values["time.years"] > 1 else 0
    if not problems and values["analysis.warmup_years"] >= values["time.years"]:
        problems.add("analysis.warmup_years", values["analysis.warmup_years"],
                     f"fewer years than the run's time.years ({values['time.years']}): the warm-up is simulated and left out, and "
                     "something must remain (set analysis.warmup_years = 0 to keep every year)")
    if values["hydrology.kind"] == "series" and not values["hydrology.series"]:
        problems.add("hydrology.series", "<missing>", "a CSV or netCDF of monthly inflows when hydrology.kind = 'series'")
    if values["hydrology.kind"] == "historical" and basin_path is not None and not problems:
        known = sorted(_basin_to_check(basin_path).historical)
        for year in values["hydrology.replay"]:
            if year not in known:
                problems.add("hydrology.replay", year, f"a recorded year of the basin's historical_years: one of {known}")
    if problems:
        raise ScenarioError(_blame_overrides(problems.problems, overrides or []))

    withdrawal, capacity = float(values["qosh_tepa.withdrawal_km3"]), float(values["qosh_tepa.capacity_m3s"])
    ceiling = capacity * 365.25 * 86400 / 1e9
    if withdrawal > ceiling:
        problems.add("qosh_tepa.withdrawal_km3", withdrawal,
                     f"at most {ceiling:.2f} km3/yr, what {capacity:g} m3/s carries year-round (raise qosh_tepa.capacity_m3s or lower the target)")
        raise ScenarioError(_blame_overrides(problems.problems, overrides or []))

    series = values["hydrology.series"]
    return Scenario(
        path=path,
        doc=doc,
        basin_path=basin_path,
        rule=str(values["rule"]),
        axis=TimeAxis.from_years(values["time.start"], values["time.years"]),
        hydrology_kind=str(values["hydrology.kind"]),
        members=int(values["hydrology.members"]),
        seed=int(values["hydrology.seed"]),
        series_path=(base / series) if series and values["hydrology.kind"] == "series" else None,  # read only by that kind
        qosh_tepa=QoshTepa(
            withdrawal_km3=withdrawal,
            capacity_m3s=capacity,
            start=parse_month(values["qosh_tepa.start"]) if values["qosh_tepa.start"] else None,
            pattern=values["qosh_tepa.pattern"],
            conveyance_loss=float(values["qosh_tepa.conveyance_loss"]),
            build_out=[(parse_month(m), float(share)) for m, share in values["qosh_tepa.build_out"]],
        ),
        reservoirs_enabled=enabled,
        reservoirs_operation=operation,
        title=str(values["title"]),
        allocation=allocation,
        scale=float(values["hydrology.scale"]),
        hydrology={k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("hydrology.")},
        compare_rules=list(values["compare.rules"]),
        compare_qosh_tepa_km3=[float(x) for x in values["compare.qosh_tepa_km3"]],
        sweep_vary=list(values["sweep.vary"]),
        parameters=parameters,
        parameter_sets=int(values["uncertainty.parameter_sets"]),
        overrides=[(str(k), v) for k, v in (overrides or [])],
        analysis={k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("analysis.")},
    )


def _flatten(table: dict, prefix: str = "") -> dict[str, object]:
    """Nested tables to dotted paths: {"node": {"vakhsh": {"annual_flow": v}}} and {"node.vakhsh.annual_flow": v}
    both give {"node.vakhsh.annual_flow": v}."""
    out = {}
    for k, v in table.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out
