"""Checks on saved results: ``hydro check RESULTS`` and ``hydro rerun RESULTS``.

- :func:`check_results` reopens a results file through :func:`hydro.results.open_results` (version, provenance,
  layout, coordinates), finds NaN, inf and negative volumes, and recomputes the mass balance of every node and
  month from the network layout the file carries (the basin folder is not needed). A sweep chunk that keeps only
  some variables gets the value checks.
- :func:`rerun` finds the basin (and a series file) by the absolute path stored in the file or by the path
  relative to it, refuses when its sha256 differs from the one recorded, runs the scenario again and compares the
  data, value for value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hydro.errors import MassBalanceError, Problem, ScenarioError
from hydro.results import open_results, saved_network, saved_networks, sha256_file
from hydro.variables import ROUTED


def check_results(path: str | Path) -> dict:
    """Check a saved results file; raise MassBalanceError or ScenarioError at the first problem, else return what
    was checked and the largest residuals."""
    from hydro.balance import check

    ds = open_results(path, lazy=None)
    for name, da in ds.data_vars.items():
        if da.dtype.kind != "f":
            continue
        values = da.values
        if not np.all(np.isfinite(values)):
            raise MassBalanceError(f"{path}: {name} holds NaN or infinite values")
        if name != "days" and values.min(initial=0.0) < -1e-6:
            raise MassBalanceError(f"{path}: {name} is negative ({values.min():.6g} hm3)")
    report = {"variables": len(ds.data_vars), "members": ds.sizes["member"], "months": ds.sizes["time"]}
    network = saved_network(ds)
    if not all(v in ds for v in ROUTED) or "initial_storage" not in ds or list(network.names) != [str(n) for n in ds.node.values]:
        report["balance"] = "not checked: the file keeps only some variables or nodes (a sweep chunk)"
        return report
    worst = {}
    for members, layout in saved_networks(ds):  # one network per parameter set
        arrays = {v: ds[v].isel(member=members).transpose("member", "time", "node").values for v in ROUTED}
        arrays["initial_storage"] = ds.initial_storage.isel(member=members).transpose("member", "node").values
        found = check(arrays, layout, member_ids=ds.member.values[members])
        worst = {k: max(worst.get(k, 0.0), v) for k, v in found.items()}
    report["balance"] = worst
    return report


def locate(path: Path, ds, key: str, what: str) -> Path | None:
    """The input `key` ('basin', 'series') of the results file `path`: at its absolute path, else at its path
    relative to the results file, whichever holds the recorded sha256. None when the run had no such input.
    ScenarioError naming both places when neither matches."""
    from hydro.basin import load_basin

    absolute = str(ds.attrs.get(key, ""))
    if not absolute:
        return None
    relative = str(ds.attrs.get(f"{key}_relative", ""))
    recorded = str(ds.attrs.get(f"{key}_sha256", ""))
    places = [Path(absolute)] + ([(path.parent / relative)] if relative else [])
    found = []
    for place in places:
        if not place.exists():
            continue
        try:
            sha = load_basin(place).sha256 if key == "basin" else sha256_file(place)
        except (OSError, ScenarioError, ValueError) as err:  # a broken input is a changed input
            found.append(f"{place} (unreadable: {err})")
            continue
        except Exception as err:  # noqa: BLE001 - a basin that no longer loads
            found.append(f"{place} (does not load: {type(err).__name__})")
            continue
        if sha == recorded:
            return place
        found.append(f"{place} (sha256 {sha[:12]})")
    where = " or ".join(str(p) for p in places)
    if not found:
        raise ScenarioError([Problem(str(path), f"attrs.{key}", where, f"the {what} the run used, at its recorded path or relative to the results file")])
    raise ScenarioError([Problem(str(path), f"attrs.{key}_sha256", recorded[:12],
                                 f"the {what} as it was at the run; found {', '.join(found)}: it changed since, so the run cannot be reproduced")])


IDENTITY = ("title", "run_file", "run_file_text", "run_config_json")


def rerun(path: str | Path):
    """Re-run the scenario a results file came from (with its counterpart runs); returns (new dataset, new
    counterparts, names of variables that differ). The new dataset keeps the original's run-file identity."""
    from hydro.runner import run_with_counterparts
    from hydro.scenario import scenario_from_dict

    path = Path(path)
    ds = open_results(path)
    basin = locate(path, ds, "basin", "basin folder")
    series = locate(path, ds, "series", "series file")
    doc = json.loads(ds.attrs["run_config_json"])
    doc["basin"] = str(basin.resolve())
    if series is not None:
        doc.setdefault("hydrology", {})["series"] = str(series.resolve())
    scenario = scenario_from_dict(doc, None)
    scenario.path = None
    new, others = run_with_counterparts(scenario)
    new.attrs.update({k: ds.attrs[k] for k in IDENTITY if k in ds.attrs})
    # a sweep chunk keeps some nodes, in float32: compare it on its own nodes, at its own precision
    same = new.sel(node=[n for n in ds.node.values]) if set(ds.node.values) <= set(new.node.values) else new
    differ = []
    for v in ds.data_vars:
        if v not in same:
            continue
        mine, again = ds[v].values, same[v].values.astype(ds[v].dtype)
        if mine.shape != again.shape or not np.array_equal(mine, again):
            differ.append(v)
    return new, others, differ
