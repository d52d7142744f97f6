"""Fuzzing the loaders: mutated basin files, mutated run files and random ``--set`` strings (hypothesis).

Properties, for every input however broken:

1. ``load_basin`` returns a Basin or raises a :class:`~hydro.errors.HydroError`; a basin that loads compiles, and a
   one-year climatology run of it ends with a result free of NaN, inf and negative values, or with a HydroError
   (a :class:`~hydro.errors.MassBalanceError` is one).
2. ``load_scenario`` returns a Scenario or raises a HydroError; a run file that loads runs for one year
   (``time.years`` overridden to 1) to a result free of NaN, inf and negative values, or raises a HydroError.
3. ``hydro run runs/mean_year.toml --set S --set time.years=1`` exits with 0 or 2 (argparse's SystemExit counts as
   2), never with a traceback.

A mutation is a list of small printable operations, so that a failing example reads as what was done to the file;
site indices are taken modulo the number of sites in the text when the operation applies.

The ``test_bug_*`` tests at the end are the failing inputs these fuzzers found, kept as plain regression tests:
each docstring says what the input did at commit e53168d (all of them failed there; the working tree this file was
written against fixes them). Runs of more than :data:`MAX_MEMBERS` members are not simulated here (memory).

Budget: ``FUZZ_SCALE`` (environment variable, default 1) multiplies every ``max_examples``; at 1 the file takes
about 20 s on two cores (``FUZZ_SCALE=10`` for a deeper search).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import re
import shutil
import tempfile
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, note, settings
from hypothesis import strategies as st

from hydro.allocation import RULES, rule_options
from hydro.basin import KINDS, load_basin
from hydro.cli import main
from hydro.errors import HydroError
from hydro.network import compile_network
from hydro.runner import run_scenario
from hydro.scenario import HYDROLOGY_KINDS, QT_PATTERNS, SCHEMA, YEAR_TYPES, load_scenario, parse_set, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
AMU_DARYA = ROOT / "basins" / "amu_darya"
BASELINE = ROOT / "runs" / "mean_year.toml"
BASIN_TEXT = (AMU_DARYA / "basin.toml").read_text(encoding="utf-8")

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
MAX_MEMBERS = 64  # a run with more members is not simulated here (memory; the run file allows far more)


def budget(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


# ---------------------------------------------------------------- TOML writing


def _q(s: str) -> str:
    """A TOML basic string."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _q(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _q(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def dump_toml(doc: dict) -> str:
    """A run document as TOML text: each table's plain keys, then its sub-tables as [a.b] (dicts in lists inline)."""
    lines: list[str] = []

    def table(prefix: str, d: dict) -> None:
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in d.items():
            if not isinstance(v, dict):
                lines.append(f"{_key(k)} = {_value(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{_key(k)}" if prefix else _key(k), v)

    table("", doc)
    return "\n".join(lines) + "\n"


# the baseline run file with its basin as an absolute path, so that a copy anywhere finds the shipped basin
BASELINE_TEXT = re.sub(r"(?m)^basin = .*$", lambda m: "basin = " + _q(str(AMU_DARYA)), BASELINE.read_text(encoding="utf-8"))
BASELINE_DOC = tomllib.loads(BASELINE_TEXT)


# ---------------------------------------------------------------- results


def check_result(ds) -> None:
    """No NaN, no inf, nothing negative in any variable of a run's results, nor in its exceedance coordinate."""
    for name, da in ds.data_vars.items():
        v = np.asarray(da.values, dtype=float)
        assert np.all(np.isfinite(v)), f"{name}: {np.count_nonzero(~np.isfinite(v))} NaN/inf values"
        assert np.all(v >= 0), f"{name}: negative values down to {v.min()!r}"
    assert np.all(np.isfinite(np.asarray(ds.exceedance.values, dtype=float))), "exceedance: NaN/inf"


def copy_basin(tmp: Path) -> Path:
    folder = tmp / "amu_darya"
    shutil.copytree(AMU_DARYA, folder)
    return folder


# ---------------------------------------------------------------- text mutations (basin and run files)

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
UNIT = re.compile(r"(?<=\d )(?:km3/yr|m3/s|km3|hm3)\b")
REACH_END = re.compile(r'(?m)^((?:from|to) = )"([^"]*)"')
SOURCE = re.compile(r'(,\s*)?source = "[^"]*"(\s*,)?')
KIND = re.compile(r'(?m)^kind = ("[^"]*")')
STRING_SETTING = re.compile(r'(?m)^(\w+ = )("[^"]*")')
BOOL = re.compile(r"\b(true|false)\b")
TOP_KEYS = ["format_version", "name", "title", "sources", "regimes", "reservoir_curves", "calibration", "historical_years"]

NODE_NAMES = re.findall(r'(?m)^name = "(\w+)"', BASIN_TEXT)[1:]  # [0] is the basin's own name
SOURCE_KEYS = ["MODEL", "WQ15", "ICWC-2526", "CW-LOSS", "ASSUMED-STOCH"]

NUMBER_REPLACEMENTS = ["0", "-0", "1", "0.5", "-1", "-26.2", "1e-300", "1e300", "1e308", "1.7e308", "1e400", "2.5e-9",
                       "99999999999999999999", "inf", "nan", "abc", '"0.714"', "true", "1_000", "0x10", "", "12.", ".5"]
UNIT_REPLACEMENTS = ["m3/sec", "km3", "hm3/month", "km3/yr", "m3/s", "hm3", "km3/month", "mm3/yr", "", "furlongs",
                     "KM3/YR", "km³/yr", "m3/s/s", "l/s", "km3 / yr", "m3"]
KIND_REPLACEMENTS = [*KINDS, "Reservoir", "junktion", "offtakes", "", "lake"]
NON_STRINGS = ["5", "true", "[]", '["a", "b"]', "{}", "1.5", "2026-01-01", "{ value = 1 }"]
INSERTS = [
    'min_flow = { value = "100 m3/s", source = "MODEL" }',
    'min_flow = { value = "1e9 m3/s", source = "MODEL" }',
    'max_release = { value = "500 m3/s", source = "MODEL" }',
    'max_release = { value = "0 m3/s", source = "MODEL" }',
    'initial_storage = { value = "1 km3", source = "MODEL" }',
    'initial_storage = { value = "0 km3", source = "MODEL" }',
    'conveyance_loss = { value = 0.3, source = "MODEL" }',
    'capacity = { value = "0 m3/s", source = "MODEL" }',
    'capacity = { value = "0 km3", source = "MODEL" }',
    'dead_storage = { value = "0 km3", source = "MODEL" }',
    'requirement = { value = "1e6 km3/yr", source = "MODEL" }',
    'growing_share = { value = 1.0, source = "MODEL" }',
    'growing_share = { value = 0.0, source = "MODEL" }',
    'return_to = "aral_sea"',
    'return_to = "sarygamysh"',
    'return_to = "kerki"',
    'return_fraction = { value = 1.0, source = "MODEL" }',
    'loss_fraction = { value = 0.999999, source = "MODEL" }',
    'annual_flow = { value = "1e-9 km3/yr", source = "MODEL" }',
    'annual_cv = { value = 0.0, source = "MODEL" }',
    'annual_cv = { value = 1.0, source = "MODEL" }',
    'evaporation = { value = "1e6 km3/yr", source = "MODEL" }',
    'qosh_tepa = true',
    'enabled = true',
    'enabled = false',
    'demand_support = true',
    'regime = "uniform"',
    'curve = "empty"',
    'curve = "full"',
    'lag1 = { value = 0.99, source = "MODEL" }',
    'unknown_key = 1',
    'range = ["1 km3", "0 km3"]',
    '[stochastic]',
    '[[node]]\nname = "extra"\nkind = "junction"',
    '[[node]]\nname = "lake"\nkind = "terminal"',
    '[[reach]]\nfrom = "kerki"\nto = "aral_sea"',
    '[[reach]]\nfrom = "aral_sea"\nto = "kerki"',
]


def _sub_site(text: str, pattern: re.Pattern, i: int, repl) -> str:
    """Replace the i-th (mod count) match of `pattern` by repl(match), or by repl itself when a string."""
    sites = list(pattern.finditer(text))
    if not sites:
        return text
    m = sites[i % len(sites)]
    return text[: m.start()] + (repl(m) if callable(repl) else repl) + text[m.end():]


def apply_text_op(data: bytes, op: tuple) -> bytes:
    kind = op[0]
    if kind == "truncate":
        return data[: int(len(data) * op[1])]
    if kind == "garbage":
        pos = int(len(data) * op[1])
        return data[:pos] + op[2] + data[pos:]
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    if kind == "delete_line":
        del lines[op[1] % len(lines)]
        text = "\n".join(lines)
    elif kind == "duplicate_line":
        i = op[1] % len(lines)
        text = "\n".join(lines[: i + 1] + lines[i:])
    elif kind == "swap_lines":
        i, j = op[1] % len(lines), op[2] % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
        text = "\n".join(lines)
    elif kind == "insert_line":
        i = op[1] % (len(lines) + 1)
        text = "\n".join(lines[:i] + [op[2]] + lines[i:])
    elif kind == "number":
        text = _sub_site(text, NUMBER, op[1], op[2])
    elif kind == "unit":
        text = _sub_site(text, UNIT, op[1], op[2])
    elif kind == "reach_node":
        text = _sub_site(text, REACH_END, op[1], lambda m: m.group(1) + _q(op[2]))
    elif kind == "drop_source":
        text = _sub_site(text, SOURCE, op[1], lambda m: m.group(1) if m.group(1) and m.group(2) else "")
    elif kind == "change_source":
        text = _sub_site(text, SOURCE, op[1], lambda m: (m.group(1) or "") + "source = " + op[2] + (m.group(2) or ""))
    elif kind == "kind":
        text = _sub_site(text, KIND, op[1], "kind = " + op[2])
    elif kind == "string_setting":
        text = _sub_site(text, STRING_SETTING, op[1], lambda m: m.group(1) + op[2])
    elif kind == "top_level":
        text = _sub_site(text, re.compile(rf"(?m)^{op[1]} = .*$"), 0, f"{op[1]} = {op[2]}")
    elif kind == "bool":
        text = _sub_site(text, BOOL, op[1], op[2])
    else:
        raise AssertionError(op)
    return text.encode("utf-8", errors="surrogateescape")


def apply_text_ops(data: bytes, ops) -> bytes:
    for op in ops:
        data = apply_text_op(data, op)
    return data


site = st.integers(0, 10_000)
frac = st.floats(0.0, 1.0)


def misspell(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name[:-1], name + "x", name.upper(), name.replace("_", "-"), name[1:] or "x", " " + name, name + " "])


node_ref = st.one_of(st.sampled_from(NODE_NAMES), st.sampled_from(NODE_NAMES).flatmap(misspell), st.sampled_from(["", "nowhere", "Kerki"]))
source_ref = st.one_of(st.sampled_from([_q(k) for k in SOURCE_KEYS]),
                       st.sampled_from(['"model"', '"WQ-15"', '""', "5", '["MODEL", "WQ15"]', "{}", "true"]))
string_value = st.one_of(st.sampled_from(NON_STRINGS),
                         st.sampled_from([*NODE_NAMES, "kerki", "nurek", "uniform", "full", "empty", "nowhere", "UZB", "XXX",
                                          "sources.toml", "missing.toml", "regimes.csv", "basin.toml", "", ".", "/"]).map(_q))

common_text_ops = [
    st.tuples(st.just("delete_line"), site),
    st.tuples(st.just("duplicate_line"), site),
    st.tuples(st.just("swap_lines"), site, site),
    st.tuples(st.just("truncate"), frac),
]
basin_op = st.one_of(
    *common_text_ops,
    st.tuples(st.just("garbage"), frac, st.binary(min_size=1, max_size=6)),
    st.tuples(st.just("number"), site, st.one_of(st.sampled_from(NUMBER_REPLACEMENTS), st.floats(-1e6, 1e6).map(repr))),
    st.tuples(st.just("unit"), site, st.sampled_from(UNIT_REPLACEMENTS)),
    st.tuples(st.just("reach_node"), site, node_ref),
    st.tuples(st.just("drop_source"), site),
    st.tuples(st.just("change_source"), site, source_ref),
    st.tuples(st.just("kind"), site, st.one_of(st.sampled_from(KIND_REPLACEMENTS).map(_q), st.sampled_from(NON_STRINGS))),
    st.tuples(st.just("string_setting"), site, string_value),
    st.tuples(st.just("top_level"), st.sampled_from(TOP_KEYS), st.one_of(string_value, st.sampled_from(["1", "2", "0"]))),
    st.tuples(st.just("bool"), site, st.sampled_from(["true", "false", "1", '"yes"'])),
    st.tuples(st.just("insert_line"), site, st.sampled_from(INSERTS)),
)


# ---------------------------------------------------------------- 1. mutated basin files

KOKCHA_FLOW_SITE = next(i for i, m in enumerate(NUMBER.finditer(BASIN_TEXT)) if BASIN_TEXT[m.start() - 9: m.end() + 8] == 'value = "6.2 km3/yr"')


def run_doc_for(basin_folder: Path) -> dict:
    """The baseline run, one year, on `basin_folder`, leaving reservoir switches to the basin file."""
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASELINE_DOC.items() if k != "reservoirs"}
    doc["basin"] = str(basin_folder)
    doc["time"]["years"] = 1
    return doc


def check_basin_bytes(data: bytes) -> str:
    """Property 1 for one content of basin.toml; returns what happened."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_basin(Path(tmp))
        (folder / "basin.toml").write_bytes(data)
        try:
            basin = load_basin(folder)
        except HydroError:
            return "basin rejected"
        compile_network(basin)
        try:
            scenario = scenario_from_dict(run_doc_for(folder), None)  # None: no run file (its text goes in provenance)
        except HydroError:
            return "run rejected"
        try:
            ds = run_scenario(scenario)
        except HydroError:
            return "run raised a HydroError"
        check_result(ds)
        return "ran"


@budget(200)
@given(st.lists(basin_op, min_size=1, max_size=3))
@example([("top_level", "calibration", "5")])  # test_bug_basin_calibration_not_a_string
@example([("number", KOKCHA_FLOW_SITE, "0")])  # kokcha's annual_flow = "0 km3/yr": test_bug_zero_annual_flow_warns
def test_fuzz_basin_file(ops):
    event(check_basin_bytes(apply_text_ops(BASIN_TEXT.encode(), ops)))


def test_shipped_basin_passes_the_basin_property():
    assert check_basin_bytes(BASIN_TEXT.encode()) == "ran"


# ---------------------------------------------------------------- 2. mutated run files

MONTHS = ["2026-10", "2026-04", "2027-01", "2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", "1969-12", "2261-12",
          "2262-05", "2300-01", "1677-09", "1600-01", "0000-01", "9999-12", " 2026-10 ", "2026_10"]
WORDS = ["", "x", *QT_PATTERNS, *HYDROLOGY_KINDS, *YEAR_TYPES, *RULES, "upstream-first", "outside", "quota", "capped",
         "UZB", "TKM", "nurek", "aral_sea", "../basins/amu_darya", "nowhere", "series.csv", "bad_series.csv",
         "missing.csv", "bad.nc", "fuzz_run.toml", ".", "KEY=1", "qosh_tepa.withdrawal_km3=0:6:2"]
run_scalar = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([1000, 1001, 2021, 2020, 2024, 1900, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 0.9, 0.999, 1.0, 1.5, 10.0, 10.5, 26.0, 27.0, 650.0, 1e300, -0.0, 5e-324]),
    st.booleans(),
    st.sampled_from(MONTHS + WORDS),
    st.text(max_size=8),
    st.dates(),
)
run_value = st.one_of(
    run_scalar,
    st.lists(run_scalar, max_size=13),
    st.lists(st.floats(0, 100), min_size=12, max_size=12),
    st.dictionaries(st.sampled_from(["enabled", "x", "value", "UZB", "TKM", "TJK", "AFG"]), run_scalar, max_size=3),
)
unit_interval = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 1 - 1e-16, 5e-324, 0.5]))
PLAUSIBLE = {
    "format_version": st.sampled_from([1, 2, 0, "1", 1.0]),
    "basin": st.sampled_from([str(AMU_DARYA), str(AMU_DARYA / "basin.toml"), "nowhere", "", ".", "fuzz_run.toml", "/"]),
    "rule": st.sampled_from([*RULES, "upstream-first", ""]),
    "time.start": st.sampled_from(MONTHS),
    "time.years": st.sampled_from([1, 2, 1000, 1001, 0, -1, 1.0, True]),
    "hydrology.kind": st.sampled_from([*HYDROLOGY_KINDS, "Stochastic", ""]),
    "hydrology.members": st.sampled_from([1, 2, 3, 0, -1, 2.0, True, 10**20]),
    "hydrology.seed": st.sampled_from([0, 1, 42, -1, 2**64, 1.5]),
    "hydrology.series": st.sampled_from(["series.csv", "bad_series.csv", "missing.csv", "bad.nc", ".", "fuzz_run.toml", ""]),
    "hydrology.scale": st.one_of(st.floats(0, 11), st.sampled_from([0, 10, 1e-300, -1])),
    "hydrology.melt_shift_weeks": st.one_of(st.floats(-1, 27), st.sampled_from([0, 26, 52])),
    "hydrology.year": st.sampled_from([*YEAR_TYPES, "Dry", ""]),
    "hydrology.exceedance": unit_interval,
    "hydrology.replay": st.one_of(st.lists(st.integers(2018, 2026), max_size=3), st.just([2021.0])),
    "hydrology.annual_cv": unit_interval,
    "hydrology.lag1": unit_interval,
    "hydrology.cross_correlation": unit_interval,
    "hydrology.dry_exceedance": st.floats(0.4, 1.0),
    "hydrology.wet_exceedance": st.floats(0.0, 0.6),
    "qosh_tepa.withdrawal_km3": st.one_of(st.floats(0, 25), st.sampled_from([0, 20.5, 1e300, -1])),
    "qosh_tepa.capacity_m3s": st.one_of(st.floats(0, 2000), st.sampled_from([5e-324, 1e308, 0])),
    "qosh_tepa.start": st.sampled_from(MONTHS),
    "qosh_tepa.pattern": st.one_of(st.sampled_from([*QT_PATTERNS, "Seasonal"]), st.lists(st.floats(0, 100), min_size=11, max_size=13),
                                   st.just([0.0] * 12), st.just([1e308] * 12)),
    "qosh_tepa.conveyance_loss": unit_interval,
}
RUN_KEYS = sorted({*SCHEMA, "time", "hydrology", "qosh_tepa", "reservoirs", "allocation", "compare", "sweep",
                   "time.stop", "hydrology.kinds", "qosh_tepa.withdrawal", "foo", "foo.bar", "reservoirs.rogun",
                   "reservoirs.rogun.enabled", "reservoirs.nurek.enabled", "reservoirs.kerki.enabled",
                   "reservoirs.nurek.policy", "reservoirs.nurek.energy_weight", "reservoirs.nurek.regulation", "reservoirs.rogun.filling",
                   "reservoirs.rogun.filling.years", "reservoirs.rogun.filling.limit_share", "reservoirs.rogun.filling.start",
                   "reservoirs.rogun.filling.stage_km3", "attribution.projects"})
ALLOCATION_OPTIONS = sorted({o for r in RULES for o in rule_options(r)} | {"limit", "afghan", "seeds"})
NUMERIC_OPTIONS = {"afghan_quota_km3", "qosh_tepa_cap_m3s", "qosh_tepa_cap_km3", "delta_km3", "sanitary_km3", "forecast_error", "seed"}
SPECIFIC_OPTION_VALUES = {
    "afghanistan": st.sampled_from(["outside", "quota", "capped", "Quota", ""]),
    "environment_first": st.booleans(),
    "forecast_point": st.sampled_from(["kerki", "termez", "aral_sea", "vakhsh", "nowhere"]),
    "split_point": st.sampled_from(["kerki", "termez", "tuyamuyun", "aral_sea", "vakhsh", "nowhere"]),
    "limits_km3": st.dictionaries(st.sampled_from(["UZB", "TKM", "TJK", "AFG", "KGZ", "XXX"]),
                                  st.one_of(st.floats(0, 50), st.integers(-1, 40)), max_size=4),
    "shares": st.one_of(st.sampled_from([{"UZB": 0.5, "TKM": 0.5}, {"UZB": 0.7, "TKM": 0.3}, {"UZB": 1.0, "TJK": 0.0}]),
                        st.dictionaries(st.sampled_from(["UZB", "TKM", "AFG"]), st.floats(0, 1), max_size=3)),
}


def set_op(key: str) -> st.SearchStrategy:
    plausible = PLAUSIBLE.get(key)
    values = st.one_of(plausible, plausible, run_value) if plausible is not None else run_value
    return st.tuples(st.just("set"), st.just(key), values)


@st.composite
def allocation_table(draw):
    keys = draw(st.lists(st.sampled_from(ALLOCATION_OPTIONS), max_size=4, unique=True))
    table = {}
    for k in keys:
        choices = [run_scalar]
        if k in SPECIFIC_OPTION_VALUES:
            choices[:0] = [SPECIFIC_OPTION_VALUES[k]] * 2
        if k in NUMERIC_OPTIONS:
            choices[:0] = [st.floats(0, 50), st.integers(0, 10)]
        table[k] = draw(st.one_of(*choices))
    return table


run_op = st.one_of(
    st.sampled_from(sorted(PLAUSIBLE)).flatmap(set_op),
    st.sampled_from(RUN_KEYS).flatmap(set_op),
    st.tuples(st.just("delete"), st.sampled_from(RUN_KEYS)),
    st.tuples(st.just("allocation"), st.one_of(st.sampled_from(sorted(RULES)), st.just(None), st.sampled_from(["", "proportionnal"])),
              allocation_table()),
    st.tuples(st.just("reservoir"), st.sampled_from(["rogun", "nurek", "tuyamuyun", "kerki", "x", ""]),
              st.one_of(st.fixed_dictionaries({"enabled": st.booleans()}),
                        st.dictionaries(st.sampled_from(["enabled", "capacity", "x"]), run_scalar, max_size=2), run_scalar)),
)
run_text_op = st.one_of(*common_text_ops, st.tuples(st.just("garbage"), frac, st.one_of(st.binary(min_size=1, max_size=6),
                                                                                       st.text(min_size=1, max_size=6).map(str.encode))))


def apply_run_op(doc: dict, op: tuple) -> None:
    kind = op[0]
    if kind in ("set", "delete"):
        parts = op[1].split(".")
        cur = doc
        for p in parts[:-1]:
            if not isinstance(cur.get(p), dict):
                if kind == "delete":
                    return
                cur[p] = {}
            cur = cur[p]
        if kind == "set":
            cur[parts[-1]] = op[2]
        else:
            cur.pop(parts[-1], None)
    elif kind == "allocation":
        if op[1] is not None:
            doc["rule"] = op[1]
        doc["allocation"] = op[2]
    elif kind == "reservoir":
        if not isinstance(doc.get("reservoirs"), dict):
            doc["reservoirs"] = {}
        doc["reservoirs"][op[1]] = op[2]


SERIES_CSV = "month,kokcha,vakhsh\n" + "".join(
    f"{m},{150 + i % 40},{400 + 10 * (i % 12)}\n" for i, m in enumerate(np.arange(np.datetime64("2020-01"), np.datetime64("2040-01")).astype(str)))


def check_run_bytes(data: bytes) -> str:
    """Property 2 for one content of a run file (beside a good and a bad series file); returns what happened."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "series.csv").write_text(SERIES_CSV, encoding="utf-8")
        (tmp / "bad_series.csv").write_text("month,kokcha,nowhere\n2026-10,abc,1\n2026-10,-5,\n", encoding="utf-8")
        (tmp / "bad.nc").write_bytes(b"CDF\x01not really a netCDF file")
        path = tmp / "fuzz_run.toml"
        path.write_bytes(data)
        try:
            load_scenario(path)
        except HydroError:
            return "run file rejected"
        try:
            scenario = load_scenario(path, [("time.years", 1)])
        except HydroError:
            return "rejected with time.years = 1"
        if scenario.members > MAX_MEMBERS:
            return "too many members to simulate here"
        try:
            ds = run_scenario(scenario)
        except HydroError:
            return "run raised a HydroError"
        check_result(ds)
        return "ran"


def run_text(ops, text_ops=()) -> bytes:
    doc = tomllib.loads(BASELINE_TEXT)
    for op in ops:
        apply_run_op(doc, op)
    return apply_text_ops(dump_toml(doc).encode(), text_ops)


@budget(300)
@given(st.lists(run_op, max_size=4), st.lists(run_text_op, max_size=1))
@example([], [("garbage", 0.5, b"\xff")])  # test_bug_run_file_not_utf8
@example([("allocation", "icwc_quota", {"seed": [1]})], [])  # test_bug_rule_option_wrong_type
@example([("allocation", "kerki_split", {"split_point": 5})], [])  # test_bug_rule_option_fails_at_run_time
@example([("allocation", "icwc_quota", {"forecast_point": dt.date(2020, 1, 1)})], [])  # test_bug_allocation_option_not_json
@example([("set", "qosh_tepa.pattern", [1e308] * 12)], [])  # test_bug_qosh_tepa_pattern_sum_overflows
def test_fuzz_run_file(ops, text_ops):
    data = run_text(ops, text_ops)
    note(data.decode("utf-8", errors="replace"))
    event(check_run_bytes(data))


def test_baseline_round_trips_and_passes_the_run_property():
    assert tomllib.loads(dump_toml(BASELINE_DOC)) == BASELINE_DOC
    assert check_run_bytes(dump_toml(BASELINE_DOC).encode()) == "ran"


# ---------------------------------------------------------------- 3. random --set strings through the CLI

SET_KEYS = sorted({*SCHEMA, "time", "", "foo", "Time.years", " time.years ", "hydrology.member", "allocation.seed",
                   "allocation.limits_km3", "allocation.afghanistan", "allocation.environment_first", "allocation.x",
                   "allocation.a.b", "reservoirs.rogun.enabled", "reservoirs.nurek.enabled", "reservoirs.x.enabled",
                   "reservoirs..enabled", "reservoirs.rogun", "reservoirs.rogun.enabled.enabled"})
SET_VALUES = ["1", "0", "-1", "2", "1.5", "1e400", "inf", "-inf", "nan", "true", "false", "[1, 2]", "[2021]", "[]", "{a = 1}",
              "{ UZB = 10 }", "'x'", '"2026-10"', "2026-10", "2026-13", "2300-01", "", "[", '"', "'", *RULES, *HYDROLOGY_KINDS,
              "quota", "capped", "dry", "1979-05-27", "1979-05-27T07:32:00Z", "../basins/amu_darya", "nowhere",
              "mean_year.toml", "0x10", "1_000", "9" * 25, "\u00e9", "a=b", "[0,0,0,0,0,0,0,0,0,0,0,1]", "[1e308" + ", 1e308" * 11 + "]"]


@st.composite
def plausible_set(draw):
    key = draw(st.sampled_from(sorted(PLAUSIBLE)))
    value = draw(PLAUSIBLE[key])
    text = _value(value)
    if isinstance(value, str) and draw(st.booleans()):
        text = value  # unquoted: parse_set keeps text that is not TOML as a string
    return f"{key}={text}"


set_string = st.one_of(
    plausible_set(),
    plausible_set(),
    st.tuples(st.sampled_from(SET_KEYS), st.sampled_from(SET_VALUES)).map("=".join),
    st.tuples(st.sampled_from(SET_KEYS), st.text(max_size=10)).map("=".join),
    st.text(max_size=16),
)


def cli_exit_code(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return main(argv)
        except SystemExit as exc:  # argparse
            return exc.code if isinstance(exc.code, int) else 2


def members_too_many(s: str) -> bool:
    """--set hydrology.members=N with N too large to simulate here (memory)."""
    try:
        key, value = parse_set(s)
    except HydroError:
        return False
    return key == "hydrology.members" and isinstance(value, int) and value > MAX_MEMBERS


@budget(30)
@given(set_string)
@example("reservoirs.rogun.enabled.enabled=true")  # test_bug_set_through_a_value_that_is_not_a_table
@example("hydrology.seed=18446744073709551616")  # test_bug_seed_too_large_for_netcdf
@example("title=\x1b")  # test_bug_chart_title_without_glyph_warns
@example("hydrology.scale=1e-300")  # a river of nothing: the low flow without Qosh Tepa is 0 m3/s (a division by zero, session 4)
def test_fuzz_cli_set(s):
    assume(not members_too_many(s))
    with tempfile.TemporaryDirectory() as tmp:
        rc = cli_exit_code(["run", str(BASELINE), "--set", s, "--set", "time.years=1", "--out", tmp])
    event(f"exit {rc}")
    assert rc in (0, 2) or (rc == 64 and s.startswith("-"))  # "--set -x" reads as an option: a usage error (--set=-x works)


# ---------------------------------------------------------------- bugs found by the fuzzers above (failed at e53168d)


def write_run(tmp: Path, doc: dict) -> Path:
    path = tmp / "run.toml"
    path.write_text(dump_toml(doc), encoding="utf-8")
    return path


def baseline_with(**changes) -> dict:
    """The baseline document with keys changed; a double underscore stands for a dot (hydrology__members)."""
    doc = tomllib.loads(BASELINE_TEXT)
    for dotted, value in changes.items():
        apply_run_op(doc, ("set", dotted.replace("__", "."), value))
    return doc


def test_bug_run_file_not_utf8(tmp_path):
    """At e53168d: UnicodeDecodeError from tomllib.load in load_scenario (hydro/scenario.py), which caught only
    TOMLDecodeError; hydro run printed a traceback. Found as garbage bytes b'\\xc2\\x80' cut in half by a truncation."""
    path = tmp_path / "run.toml"
    path.write_bytes(BASELINE_TEXT.replace('title = "Mean year"', 'title = "Mean y\xe9ar"').encode("latin-1"))
    with pytest.raises(HydroError):
        load_scenario(path)
    assert cli_exit_code(["run", str(path), "--out", str(tmp_path / "out")]) == 2


@pytest.mark.parametrize("value", ["5", "true", '["calibration.toml"]'])
def test_bug_basin_calibration_not_a_string(tmp_path, value):
    """At e53168d: TypeError "unsupported operand type(s) for /: 'PosixPath' and 'int'" from
    files["calibration"] = folder / doc["calibration"] in load_basin (hydro/basin.py)."""
    folder = copy_basin(tmp_path)
    (folder / "basin.toml").write_text(BASIN_TEXT.replace('calibration = "calibration.toml"', f"calibration = {value}"), encoding="utf-8")
    with pytest.raises(HydroError):
        load_basin(folder)


@pytest.mark.parametrize("rule, options", [
    ("icwc_quota", {"seed": [1]}),
    ("icwc_quota", {"seed": dt.date(2020, 1, 1)}),
    ("icwc_quota", {"seed": math.inf}),
    ("icwc_quota", {"limits_km3": 5}),
    ("protocol_566", {"limits_km3": [1]}),
    ("kerki_split", {"shares": 5}),
    ("kerki_split", {"shares": {"UZB": "half", "TKM": 0.5}}),
])
def test_bug_rule_option_wrong_type(tmp_path, rule, options):
    """At e53168d: make_rule turned only ValueError into a ScenarioError, so load_scenario raised TypeError
    (int(seed), dict(limits_km3), dict(shares), sum(shares.values())) or OverflowError (int(inf)) from
    IcwcQuota.__init__ / KerkiSplit.__init__ (hydro/allocation.py)."""
    with pytest.raises(HydroError):
        load_scenario(write_run(tmp_path, baseline_with(rule=rule, allocation=options)))


@pytest.mark.parametrize("rule, options", [("kerki_split", {"split_point": 5}), ("icwc_quota", {"seed": -1})])
def test_bug_rule_option_fails_at_run_time(tmp_path, rule, options):
    """At e53168d the run file loaded and the run failed when the rule started: split_point = 5 -> TypeError from
    did_you_mean(5, ...) (difflib) in KerkiSplit.setup; seed = -1 -> ValueError from np.random.default_rng(-1) in
    IcwcQuota.setup (hydro/allocation.py)."""
    with pytest.raises(HydroError):
        run_scenario(load_scenario(write_run(tmp_path, baseline_with(rule=rule, allocation=options)), [("time.years", 1)]))


def test_bug_allocation_option_not_json(tmp_path):
    """At e53168d: icwc_quota with forecast_point = 2020-01-01 (a TOML date, not checked) simulated, then
    provenance() failed on json.dumps(scenario.allocation) (hydro/results.py): TypeError 'Object of type date is not
    JSON serializable'."""
    path = write_run(tmp_path, baseline_with(rule="icwc_quota", allocation={"forecast_point": dt.date(2020, 1, 1)}))
    try:
        scenario = load_scenario(path, [("time.years", 1)])
    except HydroError:
        return  # rejected: fine
    check_result(run_scenario(scenario))


@pytest.mark.parametrize("changes, override", [
    ({}, "reservoirs.rogun.enabled.enabled=true"),
    ({"hydrology": "stochastic"}, "hydrology.members=2"),
    ({"reservoirs": 5}, "reservoirs.rogun.enabled=true"),
])
def test_bug_set_through_a_value_that_is_not_a_table(tmp_path, changes, override):
    """At e53168d: apply_overrides walked the dotted key with cur.setdefault(p, {}) (hydro/scenario.py): TypeError
    "'bool' object does not support item assignment" (first two) or AttributeError "'int' object has no attribute
    'setdefault'" (third); hydro run printed a traceback."""
    path = write_run(tmp_path, {**tomllib.loads(BASELINE_TEXT), **changes})
    with pytest.raises(HydroError):
        load_scenario(path, [parse_set(override)])
    assert cli_exit_code(["run", str(path), "--set", override, "--out", str(tmp_path / "out")]) == 2


def test_bug_members_unbounded(tmp_path):
    """At e53168d hydrology.members had no upper bound: 10**20 loaded and the run died with numpy's ValueError
    'Maximum allowed dimension exceeded' (np.broadcast_to in hydrology.climatology); millions of members would
    exhaust memory instead."""
    path = write_run(tmp_path, baseline_with(hydrology__members=10**20))
    with pytest.raises(HydroError):
        run_scenario(load_scenario(path, [("time.years", 1)]))


def test_bug_zero_annual_flow_warns(tmp_path):
    """At e53168d an inflow with annual_flow = "0 km3/yr" (allowed: >= 0) made Parameters.log_moments take
    np.log(0) on every run (hydro/stochastic.py): RuntimeWarning 'divide by zero encountered in log', an error under
    this project's filterwarnings = error."""
    folder = copy_basin(tmp_path)
    (folder / "basin.toml").write_text(BASIN_TEXT.replace('value = "6.2 km3/yr"', 'value = "0 km3/yr"'), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_result(run_scenario(scenario_from_dict(run_doc_for(folder), None)))


def test_bug_qosh_tepa_pattern_sum_overflows(tmp_path):
    """At e53168d qosh_tepa.pattern = 12 weights of 1e308 passed (sum(v) > 0 is inf > 0), then weights.sum()
    overflowed in qosh_tepa_monthly (hydro/demand.py): RuntimeWarning, and Qosh Tepa's demand was silently 0 every
    month instead of the 6 km3/yr target."""
    path = write_run(tmp_path, baseline_with(qosh_tepa__pattern=[1e308] * 12, qosh_tepa__start="2000-01"))
    try:
        scenario = load_scenario(path, [("time.years", 1)])
    except HydroError:
        return  # rejected: fine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = run_scenario(scenario)
    assert float(ds.demand.sel(node="qosh_tepa").sum()) / 1000.0 == pytest.approx(6.0, rel=1e-6)


@pytest.mark.parametrize("start", ["2300-01", "1600-01", "0000-01"])
def test_bug_time_coordinate_wraps(tmp_path, start):
    """At e53168d a start outside 1678-2261 was accepted and TimeAxis.timestamps() (hydro/timeaxis.py) overflowed
    silently in its cast to datetime64[ns]: the results said 1715-06-13T00:25:26 for January 2300."""
    path = write_run(tmp_path, baseline_with(time__start=start))
    try:
        scenario = load_scenario(path, [("time.years", 1)])
    except HydroError:
        return  # rejected: fine
    ds = run_scenario(scenario)
    assert str(ds.time.values[0])[:7] == start


def test_bug_seed_too_large_for_netcdf(tmp_path):
    """At e53168d hydrology.seed = 2**64 was accepted, the run simulated, and write_netcdf failed in netCDF4 with
    TypeError "illegal data type for attribute b'seed' ... got O" (hydro/results.py); hydro run printed a traceback."""
    rc = cli_exit_code(["run", str(BASELINE), "--set", f"hydrology.seed={2**64}", "--set", "time.years=1", "--out", str(tmp_path / "out")])
    assert rc in (0, 2)


@pytest.mark.parametrize("title", ["\x1b", "\u6c34"])
def test_bug_chart_title_without_glyph_warns(tmp_path, title):
    """Minor. At e53168d a title with a character DejaVu Sans lacks (a control character, CJK) made matplotlib warn
    'Glyph ... missing from font(s)' as hydro run saved shortfall.png (hydro/charts.py save): a UserWarning, an
    error under this project's filterwarnings = error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = cli_exit_code(["run", str(BASELINE), "--set", f"title={title}", "--set", "time.years=1", "--out", str(tmp_path / "out")])
    assert rc == 0


def test_bug_time_bounds_past_2262(tmp_path):
    """Found by test_fuzz_cli_set after the CF change: time.start = "2261-12" for one year passed the check on the
    start year, but its months from 2262-05 (and the time bounds) lie past the end of datetime64[ns] (2262-04-11)
    and overflowed silently; now refused, and a run ending by 2262-04 still works."""
    from hydro.errors import ScenarioError

    with pytest.raises(ScenarioError, match="ending by 2262-04"):
        load_scenario(BASELINE, [("time.start", "2261-12"), ("time.years", 1)])
    ds = run_scenario(load_scenario(BASELINE, [("time.start", "2261-04"), ("time.years", 1)]))
    assert str(ds.time.values[-1])[:7] == "2262-03"


def test_bug_series_named_but_unused():
    """Found by test_fuzz_run_file: hydrology.series set to a missing file while the hydrology is not a series made
    the run's provenance hash a file the run never reads (FileNotFoundError, an internal error). The series is the
    run's input only for hydrology.kind = "series"."""
    check_run_bytes(run_text([("set", "hydrology.series", "2026-10")]))
