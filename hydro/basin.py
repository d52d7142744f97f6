"""Load a basin folder (``basin.toml`` + ``sources.toml`` + monthly CSV tables) and validate all of it.

Every problem in the folder is collected and raised together in one :class:`~hydro.errors.BasinError`
that names the file, the key path, the value found and what is allowed. Nothing is built from a basin
that has a problem. Numbers come in as ``{ value = "650 m3/s", source = "KEY", ... }`` tables and leave as
:class:`Figure` objects in model units (hm3 for volumes, hm3/day for rates).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hydro.errors import TOO_DEEP, BasinError, Collector, did_you_mean, too_deep
from hydro.units import UnitError, parse_quantity

FORMAT_VERSION = 1
KINDS = ("inflow", "junction", "reservoir", "offtake", "terminal")
STATES = ("AFG", "TJK", "UZB", "TKM", "KGZ", "KAZ")
CONFIDENCE = ("H", "M", "L", "U")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
BUILTIN_REGIMES = ("uniform",)  # same discharge every month
BUILTIN_CURVES = ("full", "empty")  # target storage at capacity / at dead storage all year
MAX_VALUE = 1e15  # a bound on table values (m3/s): far above any river, far below what overflows a run's sums

# Per kind: sourced numbers as {key: (dimension, required)}; other settings as {key: (type, required)}.
_COMMON = {"name": (str, True), "kind": (str, True), "state": (str, False), "province": (str, False)}
_FIGURES = {
    "inflow": {"annual_flow": ("rate", True), "annual_cv": ("number", False)},
    "junction": {},
    "reservoir": {
        "capacity": ("volume", True),
        "dead_storage": ("volume", True),
        "initial_storage": ("volume", False),
        "evaporation": ("rate", False),
        "max_release": ("rate", False),
        # the power plant (hydro.energy): levels above sea level, head loss-free
        "normal_level": ("length", False),
        "dead_level": ("length", False),
        "tailwater_level": ("length", False),
        "plant_capacity": ("power", False),
        "turbine_discharge": ("rate", False),
        "efficiency": ("number", False),
    },
    "offtake": {
        "demand": ("rate", True),
        "growing_share": ("number", True),
        "capacity": ("rate", False),
        "return_fraction": ("number", False),
        "conveyance_loss": ("number", False),
    },
    "terminal": {"requirement": ("rate", False), "growing_share": ("number", False)},
}
_SETTINGS = {
    "inflow": {"regime": (str, True)},
    "junction": {},
    "reservoir": {"curve": (str, True), "enabled": (bool, False), "demand_support": (bool, False), "schedule": (str, False), "energy_demand": (str, False)},
    "offtake": {"return_to": (str, False), "qosh_tepa": (bool, False)},
    "terminal": {},
}
OPERATING_UNITS = {"km3": "a release schedule, km3 per calendar month", "GWh": "an energy demand, GWh per calendar month"}
PLANT_FIGURES = ("normal_level", "dead_level", "tailwater_level", "plant_capacity", "turbine_discharge", "efficiency")  # all or none
_REACH_FIGURES = {"loss_fraction": ("number", False), "min_flow": ("rate", False)}
_FIGURE_KEYS = {"value", "source", "confidence", "range", "note"}
_FRACTIONS = {"growing_share", "return_fraction", "conveyance_loss", "loss_fraction", "annual_cv", "lag1", "cross_correlation", "efficiency"}
_STOCHASTIC = {"lag1": ("number", True), "cross_correlation": ("number", True)}
_TOP_KEYS = ["format_version", "name", "title", "sources", "regimes", "reservoir_curves", "operating_tables", "calibration", "historical_years", "recorded_figures", "parameter_sets", "map", "stochastic", "node", "reach"]


@dataclass(frozen=True)
class Figure:
    """A sourced number in model units: hm3 (volume), hm3/day (rate) or a plain number."""

    value: float
    dimension: str
    text: str
    source: str
    confidence: str
    note: str = ""
    range: tuple[float, float] | None = None

    @property
    def annual_hm3(self) -> float:
        """A rate as hm3 per year of 365.25 days."""
        return self.value * 365.25


@dataclass
class Node:
    """One node of the basin as written in the file (validated)."""

    name: str
    kind: str
    state: str = ""
    province: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)

    def figure(self, key: str, default: float | None = None) -> float | None:
        """The value of figure `key` in model units, or `default` when the file leaves it out."""
        f = self.figures.get(key)
        return f.value if f is not None else default


@dataclass
class Reach:
    """A river stretch from one node to the next, with its loss fraction and optional minimum flow."""

    source_node: str
    target_node: str
    figures: dict[str, Figure] = field(default_factory=dict)


@dataclass
class Basin:
    """A validated basin: nodes in file order, reaches, sources and monthly tables."""

    path: Path
    name: str
    title: str
    nodes: dict[str, Node]
    reaches: list[Reach]
    sources: dict[str, dict]
    regimes: dict[str, np.ndarray]  # name -> 12 mean monthly discharges (m3/s or any consistent unit)
    curves: dict[str, np.ndarray]  # name -> 12 month-end targets as a fraction of active storage
    sha256: str
    files: dict[str, Path]
    stochastic: dict[str, Figure] = field(default_factory=dict)  # lag1, cross_correlation of annual flows
    historical: dict[int, dict] = field(default_factory=dict)  # year -> {"kind": "pct" | "km3", "jan_mar", "apr_sep", "oct_dec", "source"}
    map_folder: Path | None = None  # the map folder (hydro.geography): display only, not part of sha256
    operating_tables: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # name -> (unit, 12 values Jan-Dec): "km3" release schedules, "GWh" energy demands

    def figures(self):
        """Every sourced figure as (key path, Figure), for tables of assumptions."""
        for node in self.nodes.values():
            for key, fig in node.figures.items():
                yield f"node.{node.name}.{key}", fig
        for r in self.reaches:
            for key, fig in r.figures.items():
                yield f"reach.{r.source_node}->{r.target_node}.{key}", fig
        for key, fig in self.stochastic.items():
            yield f"stochastic.{key}", fig


def load_basin(path: str | Path, parameters: dict[str, object] | None = None) -> Basin:
    """Read and validate a basin folder (or its ``basin.toml``); raise :class:`BasinError` listing every problem.

    ``parameters`` (a run's ``[parameters]``, :func:`set_parameters`) replaces the values of sourced figures before
    the basin is validated, so that every check applies to the values used."""
    path = Path(path)
    main = path / "basin.toml" if path.is_dir() else path
    folder = main.parent
    problems = Collector(main)
    if not main.is_file():
        problems.add("<file>", str(main), "a basin folder holding basin.toml, or the path of a basin TOML file")
        raise BasinError(problems.problems)
    doc = _read_toml(main, problems)
    if doc is None:
        raise BasinError(problems.problems)
    if parameters:
        doc = set_parameters(doc, parameters, problems)

    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        problems.add("format_version", version, f"{FORMAT_VERSION} (this package reads basin format {FORMAT_VERSION})")
    for key in doc:
        if key not in _TOP_KEYS:
            problems.add(key, "<unknown key>", "a top-level key of a basin file: " + did_you_mean(key, _TOP_KEYS))

    files = {"basin": main}
    sources = _load_sources(folder, doc.get("sources", "sources.toml"), problems, files)
    regimes = _load_monthly(folder, doc.get("regimes"), "regime", problems, files, "regimes")
    curves = _load_monthly(folder, doc.get("reservoir_curves"), "curve", problems, files, "reservoir_curves")
    for name, values in curves.items():
        if np.any(values < 0) or np.any(values > 1):
            problems.add(f"curve {name!r}", values.tolist(), "12 fractions of active storage between 0 and 1", file=files["reservoir_curves"])
    operating_units: dict[str, str] = {}
    tables = _load_monthly(folder, doc.get("operating_tables"), "table", problems, files, "operating_tables", operating_units)
    for name, unit in operating_units.items():
        if unit not in OPERATING_UNITS:
            problems.add(f"table {name!r}.unit", unit, "one of " + ", ".join(f"{u!r} ({what})" for u, what in OPERATING_UNITS.items()), file=files["operating_tables"])
    operating = {name: (operating_units[name], values) for name, values in tables.items()}
    if "calibration" in doc:
        if isinstance(doc["calibration"], str) and doc["calibration"]:
            files["calibration"] = folder / doc["calibration"]
        else:
            problems.add("calibration", doc["calibration"], "the name of the calibration TOML beside basin.toml")
    for key in ("sources", "regimes", "reservoir_curves", "operating_tables", "historical_years", "recorded_figures", "parameter_sets"):
        if key in doc and not (isinstance(doc[key], str) and doc[key]):
            problems.add(key, doc[key], "a file name beside basin.toml")
            doc = {k: v for k, v in doc.items() if k != key}
    historical = _load_historical(folder, doc.get("historical_years"), sources, problems, files)
    if "recorded_figures" in doc:  # read and checked by hydro.hindcast; part of the basin's identity
        files["recorded_figures"] = folder / doc["recorded_figures"]
        if not files["recorded_figures"].is_file():
            problems.add("recorded_figures", doc["recorded_figures"], f"a CSV file beside basin.toml ({files['recorded_figures']} does not exist)")
    if "parameter_sets" in doc:  # read and checked by hydro.parameter_sets; part of the basin's identity
        files["parameter_sets"] = folder / doc["parameter_sets"]
        if not files["parameter_sets"].is_file():
            problems.add("parameter_sets", doc["parameter_sets"], f"a CSV file beside basin.toml ({files['parameter_sets']} does not exist)")
    map_folder = None
    if "map" in doc:  # read and checked by hydro.geography (display only: not in the basin's identity)
        map_folder = folder / str(doc["map"])
        if not (isinstance(doc["map"], str) and doc["map"] and (map_folder / "nodes.csv").is_file()):
            problems.add("map", doc["map"], f"a folder beside basin.toml holding nodes.csv ({map_folder / 'nodes.csv'} does not exist)")
    stochastic = {}
    raw = doc.get("stochastic", {})
    if not isinstance(raw, dict):
        problems.add("stochastic", raw, "a [stochastic] table with lag1 and cross_correlation")
        raw = {}
    for key in raw:
        if key not in _STOCHASTIC:
            problems.add(f"stochastic.{key}", "<unknown key>", "a key of [stochastic]: " + did_you_mean(key, _STOCHASTIC))
    for key, (dimension, _required) in _STOCHASTIC.items():
        if key in raw:
            fig = _figure(raw[key], dimension, sources, problems, f"stochastic.{key}")
            if fig is not None and not 0 <= fig.value < 1:
                problems.add(f"stochastic.{key}.value", fig.text, "a correlation from 0 to below 1")
            elif fig is not None:
                stochastic[key] = fig

    nodes = _load_nodes(doc.get("node"), sources, regimes, curves, problems, operating)
    reaches = _load_reaches(doc.get("reach"), nodes, sources, problems)
    if not problems:
        _check_graph(nodes, reaches, problems)
    if problems:
        raise BasinError(problems.problems)

    digest = hashlib.sha256()
    for key in sorted(files):
        f = files[key]
        if f.is_file():
            digest.update(key.encode() + b"\0" + f.read_bytes())
    return Basin(
        path=folder,
        name=str(doc.get("name", folder.name)),
        title=str(doc.get("title", doc.get("name", folder.name))),
        nodes=nodes,
        reaches=reaches,
        sources=sources,
        regimes=regimes,
        curves=curves,
        operating_tables=operating,
        sha256=digest.hexdigest(),
        files=files,
        stochastic=stochastic,
        historical=historical,
        map_folder=map_folder,
    )


def parameter_paths(doc: dict) -> list[str]:
    """Every figure a run's [parameters] may set: node.<name>.<figure> (node.*.<figure> for all nodes having it),
    reach.<from node>.<figure> and stochastic.<key>."""
    paths = []
    for kind, name_key in (("node", "name"), ("reach", "from")):
        tables = doc.get(kind, []) if isinstance(doc.get(kind, []), list) else []
        for t in tables:
            if isinstance(t, dict):
                paths += [f"{kind}.{t.get(name_key)}.{k}" for k, v in t.items() if isinstance(v, dict) and "value" in v]
    paths += sorted({f"node.*.{p.split('.', 2)[2]}" for p in paths if p.startswith("node.")})
    stochastic = doc.get("stochastic", {}) if isinstance(doc.get("stochastic", {}), dict) else {}
    paths += [f"stochastic.{k}" for k, v in stochastic.items() if isinstance(v, dict)]
    return paths


def set_parameters(doc: dict, parameters: dict[str, object], problems: Collector) -> dict:
    """A copy of the basin document with each figure named in `parameters` (path -> value, written as in the basin
    file: a number or a string with its unit) set to that value; a path matching no figure is a problem."""
    import copy

    doc = copy.deepcopy(doc)
    known = parameter_paths(doc)
    for path, value in parameters.items():
        parts = str(path).split(".")
        hits = 0
        if len(parts) == 3 and parts[0] in ("node", "reach"):
            kind, name, key = parts
            name_key = "name" if kind == "node" else "from"
            for t in doc.get(kind, []) if isinstance(doc.get(kind), list) else []:
                if isinstance(t, dict) and (name == "*" and kind == "node" or str(t.get(name_key)) == name) and isinstance(t.get(key), dict) and "value" in t[key]:
                    t[key] = {**t[key], "value": value}
                    hits += 1
        elif len(parts) == 2 and parts[0] == "stochastic" and isinstance(doc.get("stochastic", {}).get(parts[1]), dict):
            doc["stochastic"][parts[1]] = {**doc["stochastic"][parts[1]], "value": value}
            hits = 1
        if not hits:  # the form and the nearest path, not all of them (a basin has dozens)
            close = difflib.get_close_matches(str(path), known, n=1)
            problems.add(f"[parameters] {path}", value, "a sourced figure of the basin: node.<name or *>.<figure>, reach.<from node>.<figure> "
                         "or stochastic.<key>" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return doc


def _read_toml(path: Path, problems: Collector) -> dict | None:
    """The TOML document at `path`, or None with a problem naming the file (bad TOML, encoding, nesting, I/O)."""
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        if not too_deep(doc):
            return doc
        problems.add("<toml>", "<nested too deeply>", TOO_DEEP, file=path)
    except tomllib.TOMLDecodeError as err:
        problems.add("<toml>", str(err), "valid TOML", file=path)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        problems.add("<toml>", "<nested too deeply>", TOO_DEEP, file=path)
    except UnicodeDecodeError as err:
        problems.add("<encoding>", f"<byte {err.object[err.start]:#04x} at position {err.start}>", "UTF-8 text (save the file as UTF-8)", file=path)
    except OSError as err:
        problems.add("<file>", str(err), "a readable file", file=path)
    return None


def _load_sources(folder: Path, name, problems: Collector, files: dict) -> dict[str, dict]:
    path = folder / str(name)
    files["sources"] = path
    if not path.is_file():
        problems.add("sources", str(name), f"a sources table beside basin.toml ({path} does not exist)")
        return {}
    doc = _read_toml(path, problems) or {}
    table = doc.get("sources")
    if not isinstance(table, dict) or not table:
        problems.add("sources", "<missing>", "a [sources.KEY] table with title, url and confidence", file=path)
        return {}
    for key, entry in table.items():
        if not isinstance(entry, dict):
            problems.add(f"sources.{key}", entry, "a table with title, url and confidence", file=path)
            continue
        for need in ("title", "url"):
            if not isinstance(entry.get(need), str) or not entry.get(need):
                problems.add(f"sources.{key}.{need}", entry.get(need, "<missing>"), "a non-empty string", file=path)
        if entry.get("confidence") not in CONFIDENCE:
            problems.add(f"sources.{key}.confidence", entry.get("confidence", "<missing>"), f"one of {list(CONFIDENCE)}", file=path)
    return table


def _load_monthly(folder: Path, name, what: str, problems: Collector, files: dict, label: str, units: dict | None = None) -> dict[str, np.ndarray]:
    """A CSV with columns `what`, unit, source, note, jan..dec: one row per named monthly table (each row's unit
    goes into `units` when given)."""
    if name is None:
        return {}
    path = folder / str(name)
    files[label] = path
    if not path.is_file():
        problems.add(label, str(name), f"a CSV file beside basin.toml ({path} does not exist)")
        return {}
    tables: dict[str, np.ndarray] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        problems.add("<encoding>", f"<byte {err.object[err.start]:#04x} at position {err.start}>", "UTF-8 text (save the file as UTF-8)", file=path)
        return {}
    except OSError as err:
        problems.add("<file>", f"<{err.strerror or err}>", "a readable CSV file", file=path)
        return {}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:  # a field longer than the csv module's limit (128 KiB) is an error of the file, not of the model
        header = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as err:
        problems.add("<csv>", f"<{err}>", "a comma-separated table with a header row", file=path)
        return {}
    missing = [c for c in (what, "unit", "source", *MONTHS) if c not in header]
    if missing:
        problems.add("<header>", header, f"columns {[what, 'unit', 'source', 'note', *MONTHS]}; missing {missing}", file=path)
        return {}
    for lineno, row in enumerate(rows, start=2):
        key = f"line {lineno} ({row.get(what)!r})"
        if None in row or any(row.get(m) in (None, "") for m in MONTHS):
            problems.add(key, "<row>", "12 monthly values, jan to dec", file=path)
            continue
        try:
            values = np.array([float(row[m]) for m in MONTHS])
        except ValueError:
            problems.add(key, [row[m] for m in MONTHS], "12 numbers", file=path)
            continue
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            problems.add(key, values.tolist(), "12 finite values >= 0", file=path)
            continue
        if np.any(values >= MAX_VALUE):
            problems.add(key, values.tolist(), f"12 values below {MAX_VALUE:g} (larger ones overflow the model's sums)", file=path)
            continue
        if row[what] in tables:
            problems.add(key, row[what], f"a {what} name used once", file=path)
        tables[row[what]] = values
        if units is not None:
            units[row[what]] = row.get("unit") or ""
    return tables


HISTORICAL_COLUMNS = ("year", "jan_mar", "apr_sep", "oct_dec", "source")
SEASONS = ("jan_mar", "apr_sep", "oct_dec")  # of a calendar year, as the SIC-ICWC yearbooks report Nominal Kerki


def _load_historical(folder: Path, name, sources, problems: Collector, files: dict) -> dict[int, dict]:
    """A CSV of recorded years: natural flow at Kerki for Jan-Mar, Apr-Sep and Oct-Dec, in % of norm, or (columns
    jan_mar_km3, apr_sep_km3, oct_dec_km3, where a yearbook gives volumes) in km3, with a source."""
    if name is None:
        return {}
    path = folder / str(name)
    files["historical_years"] = path
    if not path.is_file():
        problems.add("historical_years", str(name), f"a CSV file beside basin.toml ({path} does not exist)")
        return {}
    years: dict[int, dict] = {}
    try:
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
        rows = list(reader)
    except UnicodeDecodeError:
        problems.add("<encoding>", "<not UTF-8>", "UTF-8 text", file=path)
        return {}
    except OSError as err:
        problems.add("<file>", f"<{err.strerror or err}>", "a readable CSV file", file=path)
        return {}
    except csv.Error as err:
        problems.add("<csv>", f"<{err}>", "a comma-separated table with a header row", file=path)
        return {}
    missing = [c for c in HISTORICAL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        problems.add("<header>", reader.fieldnames, f"columns {list(HISTORICAL_COLUMNS)} (and note); missing {missing}", file=path)
        return {}
    for lineno, row in enumerate(rows, start=2):
        try:
            year = int(row["year"])
        except (TypeError, ValueError):
            problems.add(f"line {lineno}.year", row.get("year"), "a calendar year", file=path)
            continue
        given = {k: (row.get(k) or "").strip() for k in (*SEASONS, *(f"{k}_km3" for k in SEASONS))}
        kind = "pct" if all(given[k] for k in SEASONS) else "km3" if all(given[f"{k}_km3"] for k in SEASONS) else None
        try:
            values = {k: float(given[k] if kind == "pct" else given[f"{k}_km3"]) for k in SEASONS} if kind else None
        except ValueError:
            values = None
        if values is None:
            problems.add(f"line {lineno}", [row.get(c) for c in HISTORICAL_COLUMNS[1:4]],
                         "three percentages of norm (jan_mar, apr_sep, oct_dec) or three seasonal volumes in km3 (jan_mar_km3, apr_sep_km3, oct_dec_km3)", file=path)
            continue
        if kind == "pct" and any(not 0 < v < 300 for v in values.values()):
            problems.add(f"line {lineno}", list(values.values()), "percentages of norm between 0 and 300", file=path)
            continue
        if kind == "km3" and any(not (np.isfinite(v) and 0 < v < 1000) for v in values.values()):
            problems.add(f"line {lineno}", list(values.values()), "seasonal volumes at Kerki in km3, above 0 and below 1000", file=path)
            continue
        if row["source"] not in sources:
            problems.add(f"line {lineno}.source", row["source"], "a key of sources.toml: " + did_you_mean(str(row["source"]), sources), file=path)
            continue
        if year in years:
            problems.add(f"line {lineno}.year", year, "each year once", file=path)
        years[year] = {"kind": kind, **values, "source": row["source"], "note": row.get("note", "")}
    return years


def _figure(raw, dimension: str, sources: dict, problems: Collector, key: str) -> Figure | None:
    """Turn ``{ value, source, ... }`` into a Figure, adding problems for anything wrong."""
    if not isinstance(raw, dict):
        problems.add(key, raw, "a table { value = ..., source = \"KEY\" } (every number needs a source)")
        return None
    bad = False
    for k in raw:
        if k not in _FIGURE_KEYS:
            problems.add(f"{key}.{k}", "<unknown key>", did_you_mean(k, _FIGURE_KEYS))
            bad = True
    source = raw.get("source")
    if source is None:
        problems.add(f"{key}.source", "<missing>", "a key of sources.toml")
        bad = True
    elif not isinstance(source, str):
        problems.add(f"{key}.source", source, "one key of sources.toml as a string (a figure has one source; say more in its note)")
        bad = True
        source = None
    elif source not in sources:
        problems.add(f"{key}.source", source, "a key of sources.toml: " + did_you_mean(str(source), sources))
        bad = True
    confidence = raw.get("confidence", sources.get(source, {}).get("confidence", "U") if source else "U")
    if confidence not in CONFIDENCE:
        problems.add(f"{key}.confidence", confidence, f"one of {list(CONFIDENCE)}")
        bad = True
    if "value" not in raw:
        problems.add(f"{key}.value", "<missing>", _expected(dimension))
        return None
    try:
        q = parse_quantity(raw["value"], dimension)
    except UnitError as err:
        problems.add(f"{key}.value", raw["value"], f"{_expected(dimension)} ({err})")
        return None
    rng = None
    if "range" in raw:
        r = raw["range"]
        try:
            if not isinstance(r, list) or len(r) != 2:
                raise UnitError("not a pair")
            lo, hi = (parse_quantity(x, dimension).value for x in r)
            if lo > hi:
                raise UnitError("low end above high end")
            rng = (lo, hi)
        except UnitError as err:
            problems.add(f"{key}.range", r, f"[low, high], each {_expected(dimension)} ({err})")
            bad = True
    if not np.isfinite(q.value):
        problems.add(f"{key}.value", raw["value"], "a finite number")
        return None
    if bad:
        return None
    return Figure(q.value, q.dimension, q.text, str(source), str(confidence), str(raw.get("note", "")), rng)


def _expected(dimension: str) -> str:
    return {
        "rate": "a rate with its unit, e.g. '650 m3/s' or '9.8 km3/yr'",
        "volume": "a volume with its unit, e.g. '6.8 km3'",
        "number": "a plain number",
        "length": "a level or head with its unit, e.g. '910 m'",
        "power": "a power with its unit, e.g. '3000 MW'",
    }[dimension]


def _load_nodes(raw_nodes, sources, regimes, curves, problems: Collector, operating: dict | None = None) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    if not isinstance(raw_nodes, list) or not raw_nodes:
        problems.add("node", raw_nodes if raw_nodes is not None else "<missing>", "a list of [[node]] tables")
        return nodes
    for i, raw in enumerate(raw_nodes):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"node[{i}]" + (f" ({name!r})" if isinstance(name, str) else "")
        if not isinstance(raw, dict):
            problems.add(where, raw, "a [[node]] table")
            continue
        kind = raw.get("kind")
        if kind not in KINDS:
            problems.add(f"{where}.kind", kind if kind is not None else "<missing>", did_you_mean(str(kind), KINDS))
            continue
        if not isinstance(name, str) or not name.isidentifier():
            problems.add(f"{where}.name", name if name is not None else "<missing>", "a name of letters, digits and _ (not starting with a digit)")
            continue
        if name in nodes:
            problems.add(f"{where}.name", name, "a name used by one node only")
            continue
        figures_spec, settings_spec = _FIGURES[kind], _SETTINGS[kind]
        allowed = set(_COMMON) | set(figures_spec) | set(settings_spec)
        for key in raw:
            if key not in allowed:
                problems.add(f"{where}.{key}", "<unknown key>", f"a key of a {kind} node: " + did_you_mean(key, allowed))
        node = Node(name=name, kind=kind)
        state = raw.get("state", "")
        if state and state not in STATES:
            problems.add(f"{where}.state", state, "an ISO 3166 alpha-3 code: " + did_you_mean(str(state), STATES))
        if kind == "offtake" and not state:
            problems.add(f"{where}.state", "<missing>", "the state that owns the offtake: one of " + str(list(STATES)))
        node.state = str(state)
        node.province = str(raw.get("province", ""))
        for key, (dimension, required) in figures_spec.items():
            if key not in raw:
                if required:
                    problems.add(f"{where}.{key}", "<missing>", _expected(dimension) + " with its source")
                continue
            fig = _figure(raw[key], dimension, sources, problems, f"{where}.{key}")
            if fig is None:
                continue
            if fig.value < 0:
                problems.add(f"{where}.{key}.value", fig.text, "a value >= 0")
            elif key in _FRACTIONS and fig.value > 1:
                problems.add(f"{where}.{key}.value", fig.text, "a fraction between 0 and 1")
            node.figures[key] = fig
        for key, (typ, required) in settings_spec.items():
            if key not in raw:
                if required:
                    problems.add(f"{where}.{key}", "<missing>", f"a {typ.__name__}")
                continue
            if not isinstance(raw[key], typ):
                problems.add(f"{where}.{key}", raw[key], f"a {typ.__name__}")
                continue
            node.settings[key] = raw[key]
        if kind == "inflow" and "regime" in node.settings:
            regime = node.settings["regime"]
            if regime not in regimes and regime not in BUILTIN_REGIMES:
                problems.add(f"{where}.regime", regime, "a regime of the regimes CSV or built in: " + did_you_mean(regime, [*regimes, *BUILTIN_REGIMES]))
            elif regime in regimes and regimes[regime].sum() <= 0:
                problems.add(f"{where}.regime", regime, "a regime with some flow in some month")
        if kind == "reservoir":
            given = [k for k in PLANT_FIGURES if k in node.figures]
            if given and len(given) < len(PLANT_FIGURES):
                problems.add(where, f"<power plant with {', '.join(given)}>", "all of " + ", ".join(PLANT_FIGURES) + " (or none: no plant)")
            elif given and not (node.figure("tailwater_level") < node.figure("dead_level") < node.figure("normal_level")):
                problems.add(f"{where}.dead_level", node.figures["dead_level"].text,
                             f"levels with tailwater_level < dead_level < normal_level (found {node.figures['tailwater_level'].text}, "
                             f"{node.figures['dead_level'].text}, {node.figures['normal_level'].text})")
            curve = node.settings.get("curve")
            if curve is not None and curve not in curves and curve not in BUILTIN_CURVES:
                problems.add(f"{where}.curve", curve, "a curve of the reservoir curves CSV or built in: " + did_you_mean(curve, [*curves, *BUILTIN_CURVES]))
            for key, unit in (("schedule", "km3"), ("energy_demand", "GWh")):
                table = node.settings.get(key)
                if table is not None and (operating or {}).get(table, ("", None))[0] != unit:
                    names = [n for n, (u, _) in (operating or {}).items() if u == unit]
                    problems.add(f"{where}.{key}", table, f"a table of the operating tables CSV in {unit}: " + did_you_mean(table, names))
            cap, dead = node.figure("capacity"), node.figure("dead_storage")
            if cap is not None and dead is not None and dead > cap:
                problems.add(f"{where}.dead_storage", node.figures["dead_storage"].text, f"at most the capacity ({node.figures['capacity'].text})")
            init = node.figure("initial_storage")
            if init is not None and cap is not None and init > cap:
                problems.add(f"{where}.initial_storage", node.figures["initial_storage"].text, f"at most the capacity ({node.figures['capacity'].text})")
        if kind == "offtake":
            rf = node.figure("return_fraction", 0.0)
            if rf and "return_to" not in node.settings:
                problems.add(f"{where}.return_to", "<missing>", "the node that receives the return flow (return_fraction > 0)")
            if node.figure("conveyance_loss", 0.0) >= 1:
                problems.add(f"{where}.conveyance_loss", node.figures["conveyance_loss"].text, "a fraction below 1")
        if kind == "terminal" and "requirement" in node.figures and "growing_share" not in node.figures:
            problems.add(f"{where}.growing_share", "<missing>", "the share of the requirement due in Apr-Sep")
        nodes[name] = node
    return nodes


def _load_reaches(raw_reaches, nodes, sources, problems: Collector) -> list[Reach]:
    reaches: list[Reach] = []
    if not isinstance(raw_reaches, list) or not raw_reaches:
        problems.add("reach", raw_reaches if raw_reaches is not None else "<missing>", "a list of [[reach]] tables with from and to")
        return reaches
    allowed = {"from", "to", *_REACH_FIGURES}
    for i, raw in enumerate(raw_reaches):
        where = f"reach[{i}]"
        if not isinstance(raw, dict):
            problems.add(where, raw, "a [[reach]] table")
            continue
        where += f" ({raw.get('from')!r} -> {raw.get('to')!r})"
        for key in raw:
            if key not in allowed:
                problems.add(f"{where}.{key}", "<unknown key>", "a key of a reach: " + did_you_mean(key, allowed))
        ok = True
        for end in ("from", "to"):
            name = raw.get(end)
            if not isinstance(name, str) or name not in nodes:
                problems.add(f"{where}.{end}", name if name is not None else "<missing>", "a node of this basin: " + did_you_mean(str(name), nodes))
                ok = False
        reach = Reach(str(raw.get("from")), str(raw.get("to")))
        for key, (dimension, _required) in _REACH_FIGURES.items():
            if key in raw:
                fig = _figure(raw[key], dimension, sources, problems, f"{where}.{key}")
                if fig is None:
                    continue
                if fig.value < 0 or (key == "loss_fraction" and fig.value >= 1):
                    problems.add(f"{where}.{key}.value", fig.text, "a fraction >= 0 and below 1" if key == "loss_fraction" else "a value >= 0")
                    continue
                reach.figures[key] = fig
        if ok and "min_flow" in reach.figures and nodes[reach.source_node].kind not in ("offtake", "reservoir"):
            problems.add(f"{where}.min_flow", reach.figures["min_flow"].text,
                         f"a protected flow only on a reach leaving an offtake or a reservoir (it limits what they take or hold); {reach.source_node!r} is a {nodes[reach.source_node].kind}")
        if ok:
            reaches.append(reach)
    return reaches


def _check_graph(nodes: dict[str, Node], reaches: list[Reach], problems: Collector) -> None:
    """One downstream reach per non-terminal node, none from terminals, no cycles, every node drains to a terminal.

    Linear in nodes + reaches, without recursion: the river is walked upstream from each terminal once (an
    iterative depth-first search numbering entry and exit), so that a node left unvisited is on or above a cycle,
    and "is B downstream of A" is one comparison of their numbers."""
    down: dict[str, list[str]] = {n: [] for n in nodes}
    up: dict[str, list[str]] = {n: [] for n in nodes}
    for r in reaches:
        down[r.source_node].append(r.target_node)
        up[r.target_node].append(r.source_node)
    for name, node in nodes.items():
        outs = down[name]
        if node.kind == "terminal":
            if outs:
                problems.add(f"node {name!r}", f"reach to {outs}", "no reach leaving a terminal")
        elif len(outs) != 1:
            problems.add(f"node {name!r}", f"{len(outs)} reaches leaving it ({outs})" if outs else "no reach leaving it",
                         "exactly one downstream reach (the river is a tree; canals are offtakes, not branches)")
        if node.kind == "inflow" and up[name]:
            problems.add(f"node {name!r}", f"reaches into it from {up[name]}", "none: an inflow node is a headwater")
        if node.kind in ("junction", "reservoir", "offtake") and not up[name]:
            problems.add(f"node {name!r}", "no reach into it", "at least one upstream reach (or make it an inflow node)")
    if problems:
        return
    enter: dict[str, int] = {}
    leave: dict[str, int] = {}
    clock = 0
    for root in (n for n, nd in nodes.items() if nd.kind == "terminal"):
        enter[root] = clock
        clock += 1
        stack = [(root, iter(up[root]))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                leave[name] = clock
                clock += 1
            elif child not in enter:  # every node has one reach down, so it is met once
                enter[child] = clock
                clock += 1
                stack.append((child, iter(up[child])))
    for name in nodes:
        if name in enter:
            continue
        # never reached from a terminal: following the river down from here ends in a cycle
        seen: dict[str, int] = {}
        cur = name
        while cur not in seen:
            seen[cur] = len(seen)
            cur = down[cur][0]
        path = list(seen)
        cycle = path[seen[cur]:] + [cur]
        problems.add("reach", " -> ".join(cycle), "no cycle: water must flow to a terminal")
        return

    def downstream_of(a: str, b: str) -> bool:  # b lies on the river below a
        return enter[b] < enter[a] and leave[a] < leave[b]

    returns = {n.name: n.settings["return_to"] for n in nodes.values() if n.kind == "offtake" and "return_to" in n.settings}
    for name, target in returns.items():
        if target not in nodes:
            problems.add(f"node {name!r}.return_to", target, "a node of this basin: " + did_you_mean(target, nodes))
            continue
        if nodes[target].kind == "terminal":
            continue
        if not downstream_of(name, target):
            problems.add(f"node {name!r}.return_to", target, "a terminal or a node downstream of the offtake (return flow arrives in the same month)")
    received = set(returns.values())
    for name, node in nodes.items():
        if node.kind == "terminal" and not up[name] and name not in received:
            problems.add(f"node {name!r}", "nothing flows into it", "a terminal reached by a reach or by a return flow")
