"""The basin's behavioural parameter sets, and runs that cross them with the hydrological members.

``parameter_sets = "parameter_sets.csv"`` in basin.toml names a CSV beside it, written by ``hydro calibrate
--install``. Lines starting with ``#`` hold its provenance (``# key: value``). Each row is one parameter set that
replays the calibration years within the calibration's tolerance (a *behavioural* set): ``set`` (its number among
the sets the calibration evaluated), its scores (``rms_calibration``, ``max_calibration``, ``rms_validation``,
``max_validation``: relative errors), then one column per basin figure, headed by its run-file path
(``node.<name>.<figure>``, ``reach.<from>.<figure>``; see :func:`hydro.basin.set_parameters`) and, for figures
with a unit, the unit of the column's values in brackets (``reach.kerki.loss [km3/yr]``).

A run with ``uncertainty.parameter_sets = N`` takes the file's first N sets (the rows are in the random order of
the Latin hypercube, so the first N are a random subsample) and runs every hydrological member under each:
``member`` then counts N x ``hydrology.members`` simulations, with the coordinates ``parameter_set`` (the set's
number) and ``hydrological_member`` (the member of the run's hydrology it repeats) along it. Figures the run file
sets itself in ``[parameters]`` keep the run file's value in every set.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from hydro.errors import Problem, ScenarioError

SCORE_COLUMNS = ("rms_calibration", "max_calibration", "rms_validation", "max_validation")
_HEADER = re.compile(r"^(?P<path>[^\s\[\]]+)(?:\s*\[(?P<unit>[^\]]+)\])?$")


@dataclass(frozen=True)
class ParameterSets:
    """The sets of one basin file: ``values`` (index ``set``, one column per figure path, values as a run's
    [parameters] writes them: a number, or a string with its unit), ``scores`` (index ``set``) and ``provenance``."""

    path: Path
    values: pd.DataFrame
    scores: pd.DataFrame
    provenance: dict[str, str]

    def first(self, n: int) -> list[tuple[int, dict[str, object]]]:
        """The first `n` sets: (set number, {figure path: value})."""
        rows = self.values.head(n)
        return [(int(i), {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}) for i, row in rows.iterrows()]


def load(basin) -> ParameterSets:
    """The basin's parameter sets, checked: every problem at once (ScenarioError naming the file, row and column):
    a path that is not a ranged figure of the basin, a unit of the wrong dimension, a value outside its range."""
    from hydro.sensitivity import DISPLAY, parameters

    where = str(basin.path / "basin.toml")
    path = basin.files.get("parameter_sets")
    if path is None:
        raise ScenarioError([Problem(where, "parameter_sets", "<missing>",
                                     "a CSV of behavioural parameter sets beside basin.toml (hydro calibrate --install writes one)")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(str(path), "<file>", type(err).__name__, "a readable UTF-8 CSV")]) from None
    provenance = {}
    for line in text.splitlines():
        if line.startswith("#") and ":" in line:
            key, value = line[1:].split(":", 1)
            provenance[key.strip()] = value.strip()
    try:
        import io

        table = pd.read_csv(io.StringIO(text), comment="#")
    except (ValueError, pd.errors.ParserError) as err:
        raise ScenarioError([Problem(str(path), "<csv>", str(err).splitlines()[0], "a CSV with a header row")]) from None
    problems = []
    if "set" not in table.columns:
        problems.append(Problem(str(path), "set", "<missing column>", "a column 'set' numbering the sets"))
    ranges = {p_: (p, DISPLAY.get(p.dimension, ("", 1.0))) for p in parameters(basin) for p_ in p.paths}
    figures, units = [], {}
    for column in table.columns:
        if column == "set" or column in SCORE_COLUMNS:
            continue
        m = _HEADER.match(str(column))
        if m is None or m.group("path") not in ranges:
            problems.append(Problem(str(path), str(column), "<column>",
                                    "a ranged figure of the basin as a run-file path (node.<name>.<figure> or reach.<from>.<figure>), "
                                    "with its unit in brackets"))
            continue
        param, (unit, _) = ranges[m.group("path")]
        if (m.group("unit") or "") != unit:
            problems.append(Problem(str(path), str(column), m.group("unit") or "<no unit>", f"the unit {unit or '<none: a plain number>'}"))
            continue
        figures.append(column)
        units[column] = (m.group("path"), param, unit)
    if problems:
        raise ScenarioError(problems)
    if table.empty:
        raise ScenarioError([Problem(str(path), "<rows>", "<none>", "at least one parameter set")])
    for i, row in table.iterrows():
        s = row["set"]
        if not (isinstance(s, (int, np.integer)) or (isinstance(s, float) and float(s).is_integer())):
            problems.append(Problem(str(path), f"row {i + 1}: set", s, "a whole number"))
        for column in figures:
            _, param, unit = units[column]
            v = row[column]
            factor = DISPLAY.get(param.dimension, ("", 1.0))[1]
            if not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
                problems.append(Problem(str(path), f"row {i + 1}: {column}", v, "a number"))
            elif not param.low - 1e-9 * abs(param.low) <= v / factor <= param.high + 1e-9 * abs(param.high):
                problems.append(Problem(str(path), f"row {i + 1}: {column}", v,
                                        f"a value within the figure's range {param.low * factor:g}-{param.high * factor:g} {unit}".rstrip()))
    if problems:
        raise ScenarioError(problems)
    if table["set"].duplicated().any():
        raise ScenarioError([Problem(str(path), "set", sorted(table["set"][table["set"].duplicated()].astype(int).tolist()), "each set number once")])
    index = pd.Index(table["set"].astype(int), name="set")
    values = pd.DataFrame({units[c][0]: [float(v) if not units[c][2] else f"{float(v)!r} {units[c][2]}" for v in table[c]] for c in figures}, index=index)
    scores = table[[c for c in SCORE_COLUMNS if c in table.columns]].set_index(index)
    return ParameterSets(path, values, scores, provenance)


def write(path: Path, sets: pd.DataFrame, params, provenance: dict[str, str]) -> None:
    """Write behavioural `sets` (one row per set: ``set``, scores, and one column per parameter label in model units,
    as :func:`hydro.fit.calibrate` returns them) as a basin's parameter_sets CSV at `path`, each figure path its own
    column in display units (km3, km3/yr)."""
    from hydro.results import atomic_file
    from hydro.sensitivity import DISPLAY

    out = pd.DataFrame({"set": sets["set"].astype(int).to_numpy()})
    for c in SCORE_COLUMNS:
        if c in sets:
            out[c] = sets[c].round(6).to_numpy()
    for p in params:
        unit, factor = DISPLAY.get(p.dimension, ("", 1.0))
        for figure in p.paths:
            out[f"{figure} [{unit}]" if unit else figure] = (sets[p.label] * factor).round(9).to_numpy()
    lines = [f"# {k}: {v}" for k, v in provenance.items()]
    with atomic_file(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n" + out.to_csv(index=False), encoding="utf-8")


def check(basin, n: int, where: str) -> list[Problem]:
    """Problems with a run asking for `n` of the basin's sets: the basin has none, fewer, or a damaged file."""
    if n == 0:
        return []
    if "parameter_sets" not in basin.files:
        return [Problem(where, "uncertainty.parameter_sets", n,
                        f"0: the basin {basin.path} has no parameter_sets file (hydro calibrate --install writes one)")]
    try:
        sets = load(basin)
    except ScenarioError as err:
        return err.problems
    if n > len(sets.values):
        return [Problem(where, "uncertainty.parameter_sets", n, f"at most {len(sets.values)}, the sets in {os.path.normpath(sets.path)}")]
    return []


def of_run(scenario) -> list[tuple[int, dict[str, object]]]:
    """The parameter sets `scenario` runs (empty when ``uncertainty.parameter_sets`` is 0): (set number, figures
    as [parameters] values), the run file's own [parameters] taking precedence."""
    if scenario.parameter_sets == 0:
        return []
    from hydro.basin import load_basin

    basin = load_basin(scenario.basin_path)
    problems = check(basin, scenario.parameter_sets, str(scenario.path or "<run>"))
    if problems:
        raise ScenarioError(problems)
    return [(k, {**values, **scenario.parameters}) for k, values in load(basin).first(scenario.parameter_sets)]


def with_set(scenario, values: dict[str, object]):
    """`scenario` with its [parameters] set to `values` (in its document too, so counterpart runs inherit them) and
    no parameter sets of its own."""
    import copy

    doc = copy.deepcopy(scenario.doc)
    doc["parameters"] = dict(values)
    doc.setdefault("uncertainty", {})["parameter_sets"] = 0
    return replace(scenario, doc=doc, parameters=dict(values), parameter_sets=0)
