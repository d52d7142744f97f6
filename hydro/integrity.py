"""Checks on saved results: ``hydro check RESULTS`` and ``hydro rerun RESULTS``.

- :func:`check_results` reopens a results file, refuses one written by another package version, finds NaN, inf
  and negative volumes, and recomputes the mass balance of every node and month (for a file with every variable;
  a sweep chunk with the summary variables gets the value checks only).
- :func:`rerun` rebuilds the scenario from the provenance the file carries (run document, run file path, basin
  hash, seed), refuses when the basin has changed since, runs it again and compares the data, value for value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

import hydro
from hydro.errors import MassBalanceError, Problem, ScenarioError

BALANCE_VARIABLES = ("natural_inflow", "inflow", "flow", "withdrawal", "return_flow", "reach_loss", "evaporation", "storage", "spill")
NEEDED_ATTRS = ("package_version", "basin", "basin_sha256", "run_config_json")


def open_results(path: str | Path) -> xr.Dataset:
    """Open a results file written by this package version, fully loaded; ScenarioError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(str(path), "<file>", "<missing>", "a results file written by hydro run (results.nc)")])
    try:
        with xr.open_dataset(path) as ds:
            ds = ds.load()
    except (OSError, ValueError) as err:
        raise ScenarioError([Problem(str(path), "<netcdf>", str(err).splitlines()[0], "a readable netCDF results file")]) from err
    missing = [a for a in NEEDED_ATTRS if a not in ds.attrs]
    if missing:
        raise ScenarioError([Problem(str(path), "attrs", f"<missing {missing}>", "a results file written by hydro run (provenance attributes)")])
    if ds.attrs["package_version"] != hydro.__version__:
        raise ScenarioError([Problem(str(path), "attrs.package_version", ds.attrs["package_version"],
                                     f"{hydro.__version__}, this package's version (rerun it with the version that wrote it, or run it afresh)")])
    return ds


def check_results(path: str | Path) -> dict:
    """Check a saved results file; raise MassBalanceError or ScenarioError at the first problem, else return what
    was checked and the largest residuals."""
    from hydro.balance import check
    from hydro.basin import load_basin
    from hydro.network import compile_network

    ds = open_results(path)
    for name, da in ds.data_vars.items():
        if da.dtype.kind != "f":
            continue
        values = da.values
        if not np.all(np.isfinite(values)):
            raise MassBalanceError(f"{path}: {name} holds NaN or infinite values")
        if name != "days" and values.min(initial=0.0) < -1e-6:
            raise MassBalanceError(f"{path}: {name} is negative ({values.min():.6g} hm3)")
    report = {"variables": len(ds.data_vars), "members": ds.sizes["member"], "months": ds.sizes["time"]}
    if not all(v in ds for v in BALANCE_VARIABLES) or "initial_storage" not in ds:
        report["balance"] = "not checked: the file keeps only some variables (a sweep chunk)"
        return report
    basin = load_basin(ds.attrs["basin"])
    if basin.sha256 != ds.attrs["basin_sha256"]:
        raise ScenarioError([Problem(str(path), "attrs.basin_sha256", ds.attrs["basin_sha256"][:12],
                                     f"the basin as it is now ({basin.sha256[:12]} at {ds.attrs['basin']}): it changed since the run")])
    enabled = {str(n): bool(a) for n, a, k in zip(ds.node.values, ds.active.values, ds.kind.values) if k == "reservoir"}
    network = compile_network(basin, enabled)
    if list(network.names) != [str(n) for n in ds.node.values]:
        raise ScenarioError([Problem(str(path), "node", "<another node order>", "the nodes of the basin it names")])
    arrays = {v: ds[v].transpose("member", "time", "node").values for v in BALANCE_VARIABLES}
    arrays["initial_storage"] = ds.initial_storage.transpose("member", "node").values
    report["balance"] = check(arrays, network)
    return report


def rerun(path: str | Path):
    """Re-run the scenario a results file came from; returns (new dataset, names of variables that differ)."""
    from hydro.basin import load_basin
    from hydro.run import run_scenario
    from hydro.scenario import scenario_from_dict

    ds = open_results(path)
    basin = load_basin(ds.attrs["basin"])
    if basin.sha256 != ds.attrs["basin_sha256"]:
        raise ScenarioError([Problem(str(path), "attrs.basin_sha256", ds.attrs["basin_sha256"][:12],
                                     f"the basin as it is now ({basin.sha256[:12]} at {ds.attrs['basin']}): it changed since the run, so the run cannot be reproduced")])
    doc = json.loads(ds.attrs["run_config_json"])
    run_file = Path(ds.attrs["run_file"]) if ds.attrs.get("run_file") else None
    scenario = scenario_from_dict(doc, run_file)
    scenario.basin_path = Path(ds.attrs["basin"])
    new = run_scenario(scenario)
    differ = [v for v in ds.data_vars if v in new and not np.array_equal(ds[v].values, new[v].values)]
    return new, differ
