"""Results of a run as one ``xarray.Dataset`` (dims member, time, node; hm3 per month), and safe writing.

Files are written under a temporary name in the target folder and renamed into place only when all of them
are complete, so an interrupted run leaves the previous outputs or the new ones, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

import hydro
from hydro.network import Network
from hydro.timeaxis import TimeAxis

LONG_NAMES = {
    "natural_inflow": "natural inflow generated at the node",
    "inflow": "water arriving from the reaches above (after their losses) and return flows sent to the node",
    "flow": "water leaving the node into its downstream reach (reservoirs: release + spill)",
    "demand": "water asked for by the offtake",
    "withdrawal": "water taken by the offtake",
    "shortfall": "demand not met (demand - withdrawal)",
    "return_flow": "part of the withdrawal that returns (to return_to)",
    "canal_loss": "part of the withdrawal lost in the canal before the fields (conveyance loss)",
    "reach_loss": "seepage and evaporation on the reach leaving the node",
    "evaporation": "evaporation and seepage from the reservoir",
    "storage": "reservoir storage at the end of the month",
    "spill": "water spilled above reservoir capacity",
    "requirement": "environmental requirement of a terminal (Aral Sea delta)",
}


def to_dataset(arrays: dict[str, np.ndarray], network: Network, axis: TimeAxis, attrs: dict) -> xr.Dataset:
    """Wrap simulator arrays into a Dataset with units, long names, node metadata and provenance attrs."""
    members = arrays["initial_storage"].shape[0]
    data_vars = {
        name: (("member", "time", "node"), arrays[name], {"units": "hm3", "long_name": long})
        for name, long in LONG_NAMES.items() if name in arrays
    }
    data_vars["initial_storage"] = (("member", "node"), arrays["initial_storage"], {"units": "hm3", "long_name": "reservoir storage at the start of the run"})
    data_vars["days"] = (("time",), axis.days, {"units": "day", "long_name": "days in the month"})
    coords = {
        "member": np.arange(members),
        "time": axis.timestamps(),
        "node": np.array(network.names, dtype=object),
        "kind": ("node", np.array(network.kind_name, dtype=object)),
        "active": ("node", np.array([0 if k == "reservoir" and i not in network.reservoir_idx else 1 for i, k in enumerate(network.kind_name)], dtype=np.int8),
                   {"long_name": "0 for a reservoir switched off in this run (it passes water through)"}),
        "state": ("node", np.array(network.state, dtype=object)),
        "province": ("node", np.array(network.province, dtype=object)),
        "water_year": ("time", axis.water_year),
        "growing_season": ("time", axis.growing.astype(np.int8), {"long_name": "1 in April-September (ICWC growing season)"}),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    balance = arrays.get("balance", {})
    ds.attrs = {
        "title": attrs.get("title", "amu-hydro run"),
        "package_version": hydro.__version__,
        "mass_balance_max_abs_hm3": balance.get("max_abs_hm3", np.nan),
        "mass_balance_max_rel": balance.get("max_rel", np.nan),
        "units_note": "all volumes in hm3 (10^6 m3) per calendar month",
        **{k: v for k, v in attrs.items() if k != "title"},
    }
    return ds


def provenance(scenario, basin) -> dict:
    """Attributes that say where a result comes from: the run file, its overrides applied, the basin and its hash."""
    text = scenario.path.read_text(encoding="utf-8") if scenario.path else ""
    return {
        "title": scenario.title or scenario.name,
        "rule": scenario.rule,
        "run_file": str(scenario.path) if scenario.path else "",
        "run_file_text": text,
        "run_config_json": json.dumps(scenario.doc, sort_keys=True, default=str),
        "basin": str(basin.path),
        "basin_sha256": basin.sha256,
        "hydrology": scenario.hydrology_kind,
        "seed": scenario.seed,
        "qosh_tepa_withdrawal_km3": scenario.qosh_tepa.withdrawal_km3,
        "allocation_json": json.dumps(scenario.allocation, sort_keys=True, default=str),
        "hydrology_scale": scenario.scale,
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _staged(path: Path, mode: int) -> Path:
    """An empty temporary file beside `path` (same folder, so the final rename is atomic) with ordinary permissions."""
    fd, p = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(p, mode)  # mkstemp makes 0600; outputs are ordinary files
    return Path(p)


@contextmanager
def atomic_file(path: str | Path):
    """Yield a temporary path beside `path` to write; on success it is renamed to `path`, on any error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staged(path, 0o666 & ~_umask())
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


@contextmanager
def atomic_outputs(folder: str | Path):
    """Yield a function ``tmp(name) -> Path`` for staging files; on success every staged file is renamed into
    ``folder``; on any error the staged files are removed and the folder is left as it was (a folder this call
    created is removed again)."""
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)
    staged: dict[Path, Path] = {}
    mode = 0o666 & ~_umask()

    def tmp(name: str) -> Path:
        staged[folder / name] = _staged(folder / name, mode)
        return staged[folder / name]

    try:
        yield tmp
    except BaseException:
        for p in staged.values():
            p.unlink(missing_ok=True)
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    for final, p in staged.items():
        os.replace(p, final)


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    """Write `ds` as netCDF-4 with compressed data variables."""
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
