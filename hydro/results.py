"""Results of a run: one ``xarray.Dataset``, its CF-1.11 netCDF file, the one way to open it, and safe writing.

In memory a run is a Dataset with dims (member, time, node), node labelled by name (``ds.sel(node="kerki")``),
volumes in hm3 per calendar month. On disk it is CF-1.11 netCDF (:func:`to_cf`): time first, then member (a
``realization``), then node, an integer dimension whose names are the ``node_name`` variable
(``cf_role = "timeseries_id"``); monthly volumes carry ``cell_methods = "time: sum"`` and ``time_bnds``;
strings are character arrays; the year type is a flag variable. :func:`open_results` is the only reader: it
checks the file (netCDF, conventions, package version, provenance, network layout, coordinates) and gives the
in-memory form back (:func:`from_cf`).

A results file stands on its own: it carries the network's layout (``network_json``), the table of sourced
assumptions, the leverage indicators of its basin, the identity of every input (basin and series sha256, run-file
text, paths absolute and relative to the file) and, in netCDF groups under ``counterparts/``, the counterpart runs a
report compares against (the same scenario without Qosh Tepa, and in a dry year). Readers never open the basin
folder and never simulate.

Writing: files are staged under hidden names carrying the writer's process id and renamed into place; a folder of
outputs (:func:`atomic_outputs`) becomes valid when its ``outputs.json`` manifest, written last, lists every file
with its size and sha256; readers of a folder require it (:func:`check_outputs`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

import hydro
from hydro.errors import Problem, ScenarioError
from hydro.network import Network
from hydro.timeaxis import TimeAxis
from hydro.variables import BY_NAME

CONVENTIONS = "CF-1.11"
YEAR_TYPES = ("dry", "normal", "wet")
NEEDED_ATTRS = ("package_version", "basin_sha256", "run_config_json", "network_json")
COUNTERPART_GROUP = "counterparts"
MANIFEST = "outputs.json"
TIME_CHUNK = 120  # months per chunk on disk (time is the record dimension, as CDO and NCO expect)
TIME_UNITS = "days since 1970-01-01"
MEMBER_CHUNK = 64  # members per chunk on disk; lazy reads take 4 of them at a time
HASHED_BYTES = 1 << 30
LAZY_BYTES = 256 << 20  # results files larger than this are read lazily (member by member blocks) by the commands  # files up to 1 GiB get a sha256 in the manifest; larger ones their size only


# --------------------------------------------------------------------------------------------- building a Dataset


def to_dataset(arrays: dict[str, np.ndarray], network: Network, axis: TimeAxis, attrs: dict) -> xr.Dataset:
    """Wrap simulator arrays (members, time, node) into the in-memory Dataset with units, long names, node
    metadata and provenance attributes (``attrs``); ``arrays["nodes"]`` names the nodes kept (all by default)."""
    from hydro.layout import layout_json

    kept = np.asarray(arrays.get("nodes", np.arange(len(network.names))), dtype=int)
    members = arrays["initial_storage"].shape[0]
    data_vars = {
        name: (("member", "time", "node"), arrays[name], BY_NAME[name].attrs())
        for name in BY_NAME if name in arrays
    }
    data_vars["initial_storage"] = (("member", "node"), arrays["initial_storage"],
                                    {"units": "hm3", "long_name": "reservoir storage at the start of the run"})
    data_vars["days"] = (("time",), axis.days, {"units": "day", "long_name": "days in the month"})
    active = np.array([0 if k == "reservoir" and i not in network.reservoir_idx else 1 for i, k in enumerate(network.kind_name)], dtype=np.int8)
    coords = {
        "member": np.arange(members),
        "time": axis.timestamps(),
        "node": np.array(network.names, dtype=object)[kept],
        "kind": ("node", np.array(network.kind_name, dtype=object)[kept], {"long_name": "kind of node (inflow, junction, reservoir, offtake, terminal)"}),
        "active": ("node", active[kept], {"long_name": "0 for a reservoir switched off in this run (it passes water through)"}),
        "state": ("node", np.array(network.state, dtype=object)[kept], {"long_name": "ISO 3166 alpha-3 code of the state the offtake belongs to"}),
        "province": ("node", np.array(network.province, dtype=object)[kept], {"long_name": "province (or canal command) of the offtake"}),
        "water_year": ("time", axis.water_year, {"long_name": "water year (October-September) of the month, named by the year it ends in"}),
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
        "network_json": layout_json(network),
        **{k: v for k, v in attrs.items() if k != "title"},
    }
    return ds


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _assumptions(basin) -> list[dict]:
    rows = []
    for key, fig in basin.figures():
        src = basin.sources.get(fig.source, {})
        rows.append({"figure": key, "value": fig.text, "confidence": fig.confidence,
                     "source": f"{fig.source}: {src.get('title', '')} ({src.get('url', '')})", "note": fig.note})
    return rows


def provenance(scenario, basin) -> dict:
    from hydro.geography import map_json

    """Attributes that say where a result comes from: the run file (text, path, overrides applied), the basin
    (path, sha256, assumptions, leverage indicators), the series file (path, sha256). Paths are absolute here;
    :func:`write_results` adds them relative to the written file."""
    text = scenario.path.read_text(encoding="utf-8") if scenario.path else ""
    leverage = Path(basin.path) / "leverage.toml"
    series = scenario.series_path
    return {
        "title": scenario.title or scenario.name,
        "rule": scenario.rule,
        "run_file": os.path.abspath(scenario.path) if scenario.path else "",
        "run_file_text": text,
        "run_config_json": json.dumps(scenario.doc, sort_keys=True, default=str),
        "overrides_json": json.dumps(getattr(scenario, "overrides", []), default=str),
        "basin": os.path.abspath(basin.path),
        "basin_sha256": basin.sha256,
        "series": os.path.abspath(series) if series else "",
        "series_sha256": sha256_file(series) if series else "",
        "hydrology": scenario.hydrology_kind,
        "seed": int(scenario.seed),
        "qosh_tepa_withdrawal_km3": float(scenario.qosh_tepa.withdrawal_km3),
        "allocation_json": json.dumps(scenario.allocation, sort_keys=True, default=str),
        "hydrology_scale": float(scenario.scale),
        "assumptions_json": json.dumps(_assumptions(basin)),
        "leverage_toml": leverage.read_text(encoding="utf-8") if leverage.is_file() else "",
        "references": "; ".join(f"{k}: {v.get('title', '')} {v.get('url', '')}".strip() for k, v in sorted(basin.sources.items())),
        "map_json": map_json(basin),
    }


# --------------------------------------------------------------------------------------------- CF on disk


def _label_dims(ds: xr.Dataset) -> list[str]:
    """Dimensions labelled by strings (node, rule): on disk an integer dimension and a ``<dim>_name`` variable."""
    return [d for d in ds.dims if d in ds.indexes and ds.indexes[d].dtype.kind in "OUS"]


def to_cf(ds: xr.Dataset) -> xr.Dataset:
    """The on-disk CF-1.11 form of an in-memory results Dataset (see the module docstring)."""
    out = ds.copy()
    for d in _label_dims(out):
        names = np.array([str(x) for x in out[d].values], dtype=object)
        attrs = {"long_name": f"name of the {d}"}
        if d == "node":
            attrs["cf_role"] = "timeseries_id"
        out = out.drop_vars(d).assign_coords({f"{d}_name": ((d,), names, attrs)})
    if "year_type" in out.coords:
        yt = out.year_type
        codes = np.full(yt.shape, -1, dtype=np.int8)
        for k, name in enumerate(YEAR_TYPES):
            codes[np.asarray(yt.values == name)] = k
        out = out.assign_coords(year_type=(yt.dims, codes, {
            **{k: v for k, v in yt.attrs.items()}, "flag_values": np.arange(len(YEAR_TYPES), dtype=np.int8),
            "flag_meanings": " ".join(YEAR_TYPES), "_FillValue": np.int8(-1)}))
    if "growing_season" in out.coords:
        out["growing_season"].attrs.update(flag_values=np.array([0, 1], dtype=np.int8), flag_meanings="october_march april_september")
    if "member" in out.coords:
        out["member"].attrs.update(standard_name="realization", long_name="ensemble member", units="1")
    if "qosh_tepa_km3" in out.coords:
        out["qosh_tepa_km3"].attrs.update(long_name="annual withdrawal target of the Qosh Tepa canal", units="km3 yr-1")
    if "time" in out.coords:
        starts = out.time.values.astype("datetime64[M]")
        bounds = np.stack([starts, starts + 1], axis=1).astype("datetime64[D]").astype("datetime64[ns]")
        out = out.assign_coords(time_bnds=(("time", "nv"), bounds))
        out["time"].attrs.update(standard_name="time", long_name="first day of the month", axis="T", bounds="time_bnds",
                                 units_metadata="leap_seconds: none")
        out = out.transpose("time", ...)
    for name, var in out.variables.items():  # every number says its unit ("1": a count, a code or a share)
        if var.dtype.kind in "iuf" and name not in ("time", "time_bnds") and "flag_values" not in var.attrs:
            var.attrs.setdefault("units", "1")
    for name, var in out.variables.items():
        if "long_name" not in var.attrs and "standard_name" not in var.attrs and name not in ("time_bnds",):
            var.attrs["long_name"] = name.replace("_", " ")
    version = out.attrs.get("package_version", hydro.__version__)
    out.attrs.update(
        Conventions=CONVENTIONS,
        title=str(out.attrs.get("title", "amu-hydro run")),
        institution="amu-hydro",
        source=f"amu-hydro {version}: monthly reservoir-and-channel allocation model of the Amu Darya",
        history=f"amu-hydro {version}: rule {out.attrs.get('rule', '?')}, run file {Path(str(out.attrs.get('run_file', ''))).name or '(none)'}",
        references=str(out.attrs.get("references", "")) or "see the basin's sources.toml",
    )
    out.attrs.setdefault("comment", "volumes in hm3 (10^6 m3) per calendar month; storage at the end of the month")
    return out


def from_cf(ds: xr.Dataset) -> xr.Dataset:
    """The in-memory form (dims member, time, node; node labelled by name) of a CF results Dataset."""
    out = ds
    for name in list(out.variables):
        m = re.fullmatch(r"(\w+)_name", name)
        if m and m.group(1) in out.dims and out[name].dims == (m.group(1),):
            dim = m.group(1)
            labels = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in out[name].values], dtype=object)
            out = out.drop_vars(name).assign_coords({dim: labels})
    if "year_type" in out.coords and out.year_type.dtype.kind in "iuf":
        codes = out.year_type.values
        names = np.array([*YEAR_TYPES, ""], dtype=object)
        labels = names[np.where((codes >= 0) & (codes < len(YEAR_TYPES)), codes, len(YEAR_TYPES)).astype(int)]
        attrs = {k: v for k, v in out.year_type.attrs.items() if k not in ("flag_values", "flag_meanings")}
        out = out.assign_coords(year_type=(out.year_type.dims, labels, attrs))
    if "time_bnds" in out.variables:
        out = out.drop_vars("time_bnds")
    lead = [d for d in ("member", "time", "node") if d in out.dims]
    others = [d for d in out.dims if d not in lead]
    return out.transpose(*others, *lead)


def _char_encoding(ds: xr.Dataset) -> dict:
    """Strings as CF character arrays (not netCDF-4 variable-length strings)."""
    return {name: {"dtype": "S1"} for name, var in ds.variables.items() if var.dtype.kind in "OU"}


def cf_encoding(ds: xr.Dataset, complevel: int = 1, float32: bool = False, member_chunk: int | None = None) -> dict:
    """netCDF encoding for a CF results Dataset: compressed data variables (float32 when asked), char strings."""
    enc = _char_encoding(ds)
    for name in ds.coords:
        if ds[name].dtype.kind == "f":  # coordinates carry no missing values (CF 2.5.1)
            enc[name] = {**enc.get(name, {}), "_FillValue": None}
    for name, var in ds.data_vars.items():
        # zlib level 1: on these volumes faster than `gzip -1` and nearly as small, while level 4 writes a quarter
        # slower for 5 % less; the shuffle filter makes float64 files larger, but float32 ones (sweep chunks) smaller
        # and a third faster to write (benchmarks/compression.py)
        e = {"zlib": True, "complevel": complevel, "shuffle": False} if complevel > 0 else {}
        if float32 and var.dtype.kind == "f" and "time" in var.dims and "node" in var.dims:
            e["dtype"] = "float32"
            if complevel > 0:
                e["shuffle"] = True
        enc[name] = {**enc.get(name, {}), **e}
    size = {"time": TIME_CHUNK, "member": member_chunk or MEMBER_CHUNK}
    for name, var in ds.variables.items():  # time (and member when streamed) are unlimited: chunk explicitly, the
        if "time" in var.dims or "member" in var.dims:  # coordinates too, so lazy reads of MEMBER_CHUNK multiples align
            enc[name] = {**enc.get(name, {}), "chunksizes": tuple(max(1, min(size.get(d, var.sizes[d]), var.sizes[d])) for d in var.dims)}
    for name, var in ds.variables.items():  # a checksum per chunk of every array: a flipped bit is found on reading
        if var.ndim and all(var.shape) and var.dtype.kind not in "OUS":  # (strings gain a character dimension)
            full = {"chunksizes": tuple(var.shape)} if "chunksizes" not in enc.get(name, {}) else {}
            enc[name] = {**enc.get(name, {}), **full, "fletcher32": True}
    for name in ("time", "time_bnds"):  # one time unit for the axis and its bounds (CF 7.1)
        if name in ds.variables:
            enc[name] = {**enc.get(name, {}), "units": TIME_UNITS, "calendar": "proleptic_gregorian"}
    return enc


def _relative(target: str, start: Path) -> str:
    if not target:
        return ""
    try:
        return os.path.relpath(target, start)
    except ValueError:  # another drive
        return ""


def with_relative_paths(ds: xr.Dataset, path: str | Path) -> xr.Dataset:
    """`ds` with its basin, run-file and series paths also given relative to the file `path` will be written to."""
    folder = Path(os.path.abspath(path)).parent
    ds = ds.copy()
    for key in ("basin", "run_file", "series"):
        if key in ds.attrs:
            ds.attrs[f"{key}_relative"] = _relative(str(ds.attrs[key]), folder)
    return ds


def write_results(ds: xr.Dataset, path: str | Path, counterparts: dict[str, xr.Dataset] | None = None,
                  complevel: int = 1, float32: bool = False, unlimited_member: bool = False, member_chunk: int | None = None) -> None:
    """Write the in-memory results `ds` to `path` as CF netCDF, with its counterpart runs as groups
    ``counterparts/<name>``."""
    cf = to_cf(with_relative_paths(ds, path))
    with netcdf_writing(path):
        cf.to_netcdf(path, engine="netcdf4", encoding=cf_encoding(cf, complevel, float32, member_chunk),
                     unlimited_dims=["time", "member"] if unlimited_member else ["time"])
    for name, other in (counterparts or {}).items():
        write_counterpart(other, path, name)


def write_counterpart(ds: xr.Dataset, path: str | Path, name: str, complevel: int = 1, own_members: bool = False) -> None:
    """Append a counterpart run to the results file `path` as group ``counterparts/<name>``. With `own_members` the
    group gets a ``member`` dimension of its own (a one-member dry year beside a streamed run, whose unlimited
    ``member`` dimension a group would otherwise share and grow with)."""
    cf = to_cf(ds)
    with netcdf_writing(path):
        if own_members:
            import netCDF4

            with netCDF4.Dataset(path, "a") as nc:
                group = nc.createGroup(COUNTERPART_GROUP).createGroup(name)
                group.createDimension("member", cf.sizes["member"])
        cf.to_netcdf(path, mode="a", group=f"{COUNTERPART_GROUP}/{name}", engine="netcdf4", encoding=cf_encoding(cf, complevel, float32=True))


@contextmanager
def netcdf_writing(path: str | Path):
    """Turn the netCDF library's write failures (a RuntimeError 'NetCDF: HDF error' on a full disk) into an OSError
    naming the file and the free space left, which the CLI prints on one line."""
    import errno
    import shutil

    try:
        yield
    except (RuntimeError, OSError) as err:
        if isinstance(err, OSError) and err.filename:
            raise
        try:
            free = shutil.disk_usage(Path(path).parent).free
        except OSError:
            free = None
        full = free is not None and free < 64 * 2**20
        cause = f"{err} ({free / 2**20:.1f} MiB free on its disk{': the disk is full' if full else ''})" if free is not None else str(err)
        staged = STAGED.match(Path(path).name)
        shown = Path(path).parent / staged.group("name") if staged else Path(path)
        raise OSError(errno.ENOSPC if full else errno.EIO, cause, str(shown)) from err


# --------------------------------------------------------------------------------------------- the one reader


def _bad(path, key: str, found, expected: str) -> ScenarioError:
    return ScenarioError([Problem(str(path), key, found, expected)])


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"<{type(err).__name__}: {text[0][:200]}>" if text else f"<{type(err).__name__}>"


def open_results(path: str | Path, lazy: bool | None = False, group: str | None = None) -> xr.Dataset:
    """Open a results file (or one of its counterpart groups) written by this package version: checked and in
    the in-memory form. ``lazy`` keeps the data on disk (dask, chunks of 256 members) with the labels loaded;
    ``None`` decides by the file's size (lazy above :data:`LAZY_BYTES`). Raises :class:`ScenarioError` naming the
    file and what is wrong with it."""
    path = Path(path)
    expected = "a results file written by hydro run (results.nc)"
    if not path.is_file():
        raise _bad(path, "<file>", "<missing>" if not path.exists() else "<not a file>", expected)
    if lazy is None:
        lazy = path.stat().st_size > LAZY_BYTES
    try:
        ds = xr.open_dataset(path, engine="netcdf4", group=group, chunks={"member": 4 * MEMBER_CHUNK} if lazy else None)
    except OSError as err:
        if group is not None and "group" in str(err).lower():
            raise _bad(path, f"group {group}", "<missing>", "a counterpart run stored with the results") from err
        raise _bad(path, "<netcdf>", _first_line(err), f"{expected}: the file is damaged, truncated or not netCDF") from err
    except Exception as err:  # noqa: BLE001 - any decoding failure of a damaged file is reported, not raised
        raise _bad(path, "<netcdf>", _first_line(err), f"{expected}: the file is damaged or not netCDF") from err
    try:
        ds = _checked(ds, path, expected, root=group is None)
        if lazy:
            ds = ds.assign_coords({c: ds[c].load() for c in ds.coords if c not in ds.indexes})
        else:
            ds = ds.load()
    except ScenarioError:
        ds.close()
        raise
    except Exception as err:  # noqa: BLE001 - a file whose data cannot be read back (truncated, bit-flipped)
        ds.close()
        raise _bad(path, "<data>", _first_line(err), f"{expected}: its data cannot be read (damaged or truncated file)") from err
    return ds


def _checked(ds: xr.Dataset, path: Path, expected: str, root: bool = True) -> xr.Dataset:
    from hydro.layout import layout_from_json

    if root:
        conv = str(ds.attrs.get("Conventions", ""))
        if not conv.startswith("CF-"):
            if "package_version" in ds.attrs and "run_config_json" in ds.attrs:  # amu-hydro's own, from before CF
                raise _bad(path, "attrs.Conventions", conv or "<missing>", f"{CONVENTIONS}: this file was written by an earlier "
                           "amu-hydro, before results became self-contained; run its scenario again with hydro run")
            raise _bad(path, "attrs.Conventions", conv or "<missing>", f"{CONVENTIONS} ({expected})")
        missing = [a for a in NEEDED_ATTRS if a not in ds.attrs]
        if missing:
            raise _bad(path, "attrs", f"<missing {', '.join(missing)}>", f"{expected} (provenance and network attributes)")
        if ds.attrs["package_version"] != hydro.__version__:
            raise _bad(path, "attrs.package_version", ds.attrs["package_version"],
                       f"{hydro.__version__}, this package's version (rerun it with the version that wrote it, or run it afresh)")
    for dim in ("time", "member", "node"):
        if dim not in ds.dims:
            raise _bad(path, f"dimension {dim}", "<missing>", expected)
    if "node_name" not in ds.variables or ds.node_name.dims != ("node",):
        raise _bad(path, "node_name", "<missing>", f"the names of the nodes (node_name over node) ({expected})")
    names = [x.decode() if isinstance(x, bytes) else str(x) for x in ds.node_name.values]
    if len(set(names)) != len(names):
        raise _bad(path, "node_name", "<duplicate names>", "one name per node")
    if root:
        try:
            layout = layout_from_json(ds.attrs["network_json"])
        except (ValueError, KeyError, TypeError) as err:
            raise _bad(path, "attrs.network_json", _first_line(err), "the network layout written by hydro run") from err
        unknown = [n for n in names if n not in layout.names]
        if unknown:
            raise _bad(path, "node_name", f"<nodes not in the saved network: {unknown[:3]}>", "nodes of the run's network")
    for name, var in ds.data_vars.items():
        if name in BY_NAME and var.dims[:1] != ("time",):
            raise _bad(path, name, f"<dims {var.dims}>", "time as the first dimension (a CF results file)")
    return from_cf(ds)


def open_counterparts(path: str | Path, lazy: bool | None = False) -> dict[str, xr.Dataset]:
    """The counterpart runs stored in the results file `path` (``counterparts/<name>`` groups), checked."""
    import netCDF4

    try:
        with netCDF4.Dataset(path) as nc:
            names = list(nc.groups[COUNTERPART_GROUP].groups) if COUNTERPART_GROUP in nc.groups else []
    except OSError as err:
        raise _bad(path, "<netcdf>", _first_line(err), "a results file written by hydro run") from err
    return {name: open_results(path, lazy, f"{COUNTERPART_GROUP}/{name}") for name in names}


def counterparts(path: str | Path, ds: xr.Dataset | None = None, lazy: bool | None = False) -> dict[str, xr.Dataset]:
    """The counterpart runs stored with the results file `path` (made when the run was made, never re-simulated):
    'without' (no Qosh Tepa; the run itself when it withdraws nothing), and when the run has no dry water year
    'dry' and 'dry_without' (one named dry year, :func:`hydro.analysis.named_dry_year`, with and without)."""
    ds = ds if ds is not None else open_results(path, lazy)
    stored = open_counterparts(path, lazy)
    names = {"without_qosh_tepa": "without", "dry_year": "dry", "dry_year_without_qosh_tepa": "dry_without"}
    out = {names[k]: v for k, v in stored.items() if k in names}
    if "without" not in out and float(ds.attrs.get("qosh_tepa_withdrawal_km3", 0.0)) == 0.0:
        out["without"] = ds
    if "dry" in out and "dry_without" not in out and float(ds.attrs.get("qosh_tepa_withdrawal_km3", 0.0)) == 0.0:
        out["dry_without"] = out["dry"]
    if "without" not in out:
        raise ScenarioError([Problem(str(path), "group counterparts/without_qosh_tepa", "<missing>",
                                     "the run without Qosh Tepa stored with the results (rerun hydro run)")])
    return out


def saved_network(ds: xr.Dataset):
    """The network layout a results Dataset carries (:class:`hydro.layout.SavedNetwork`)."""
    from hydro.layout import layout_from_json

    return layout_from_json(ds.attrs["network_json"])


def selection(ds: xr.Dataset, sel: dict, where: str) -> dict:
    """The --sel values as {dimension: value}: each key names a dimension beyond member, time and node, in full or by
    its last part (ScenarioError naming the key and the dimensions or values it may take otherwise)."""
    dims = [d for d in ds.dims if d not in ("member", "time", "node")]
    chosen = {}
    for given, value in sel.items():
        match = [d for d in dims if d == given or d.split(".")[-1] == given]
        if not match:
            raise ScenarioError([Problem(where, f"--sel {given}", value, f"a dimension of these results: {', '.join(dims) or '<none>'}")])
        values = [v.item() if hasattr(v, "item") else v for v in ds[match[0]].values]
        if value not in values:
            raise ScenarioError([Problem(where, f"--sel {given}", value, f"one of its values: {values}")])
        chosen[match[0]] = value
    return chosen


def saved_networks(ds: xr.Dataset) -> list[tuple[np.ndarray, object]]:
    """(member positions, layout) for each group of members simulated on one network: every member on
    :func:`saved_network` for most runs; each parameter set's members on that set's layout when the run crossed the
    basin's parameter sets with its members (``parameter_set_networks_json``)."""
    from hydro.layout import set_layout

    patches = ds.attrs.get("parameter_set_networks_json")
    if not patches or "parameter_set" not in ds.coords:
        return [(np.arange(ds.sizes["member"]), saved_network(ds))]
    sets = ds.parameter_set.values
    return [(np.flatnonzero(sets == k), set_layout(ds.attrs["network_json"], patches, k)) for k in dict.fromkeys(sets.tolist())]


# --------------------------------------------------------------------------------------------- safe writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


STAGED = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def _host() -> str:
    """This machine's name as it goes into staged file names (workers on other hosts may share a folder)."""
    import socket

    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


# what this process has staged and the output folders it created, so that an interrupt can take them away
# without unwinding the stack (hydro.cli's signal handler): a Ctrl-C inside a netCDF write would otherwise leave
# xarray's HDF5 lock held and the clean-up that follows would wait for it forever
IN_FLIGHT: set[Path] = set()
CREATED: list[Path] = []


def abandon() -> None:
    """Remove every file this process has staged and not yet renamed, and the empty folders it created."""
    for p in list(IN_FLIGHT):
        try:
            p.unlink()
        except OSError:
            pass
    IN_FLIGHT.clear()
    for folder in reversed(CREATED):
        try:
            folder.rmdir()
        except OSError:
            pass


def _staged(path: Path, mode: int) -> Path:
    """A new empty file beside `path` named ``.<name>.<host>.<pid>.<random>.tmp`` with ordinary permissions."""
    while True:
        p = path.parent / f".{path.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        except FileExistsError:
            continue
        os.close(fd)
        IN_FLIGHT.add(p)
        return p


def _done(p: Path, final: Path | None) -> None:
    """Rename a staged file into place (`final`) or remove it (None)."""
    if final is None:
        p.unlink(missing_ok=True)
    else:
        os.replace(p, final)
    IN_FLIGHT.discard(p)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: str | Path) -> list[Path]:
    """Remove files staged in `folder` by writers on this host that are no longer running
    (``.<name>.<host>.<pid>.<hex>.tmp``); a live process's files, another host's and every other file are left
    alone. Returns what was removed."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    host = _host()
    for p in folder.iterdir():
        m = STAGED.match(p.name)
        if m and m.group("host") == host and not _alive(int(m.group("pid"))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


@contextmanager
def atomic_file(path: str | Path):
    """Yield a temporary path beside `path` to write; on success it is renamed to `path`, on any error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staged(path, 0o666 & ~_umask())
    try:
        yield tmp
    except BaseException:
        _done(tmp, None)
        raise
    _done(tmp, path)


def _read_manifest(folder: Path) -> dict | None:
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("files"), dict) else None


def _entry(path: Path) -> dict:
    size = path.stat().st_size
    return {"bytes": size, **({"sha256": sha256_file(path)} if size <= HASHED_BYTES else {})}


@contextmanager
def atomic_outputs(folder: str | Path, command: str = "", replace: bool = True):
    """Yield a function ``tmp(name) -> Path`` for staging files; on success every staged file is renamed into
    ``folder`` and ``outputs.json`` is written last, listing every output with its size and sha256. On any error
    the staged files are removed and the folder is left as it was (a folder this call created is removed).

    ``replace=True`` (a new run): outputs listed by the folder's previous manifest that this call does not write
    again are removed, so no output of an earlier run stays beside the new ones; files the tool did not write are
    never touched. ``replace=False`` (derived outputs such as a report): the previous entries are kept."""
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if created:
        CREATED.append(folder)
    clean_stale(folder)
    staged: dict[Path, Path] = {}
    mode = 0o666 & ~_umask()

    def tmp(name: str) -> Path:
        if name == MANIFEST or "/" in name:
            raise ValueError(f"cannot stage {name!r}")
        staged[folder / name] = _staged(folder / name, mode)
        return staged[folder / name]

    try:
        yield tmp
        entries = {final.name: _entry(p) for final, p in staged.items()}
    except BaseException:
        for p in staged.values():
            _done(p, None)
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    with _folder_lock(folder):  # two commands finishing at once into one folder take turns, never interleave
        _commit(folder, staged, entries, command, replace)


@contextmanager
def _folder_lock(folder: Path):
    """An exclusive advisory lock on the folder itself (flock on its descriptor; no lock file left behind)."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _commit(folder: Path, staged: dict[Path, Path], entries: dict, command: str, replace: bool) -> None:
    old = _read_manifest(folder)
    (folder / MANIFEST).unlink(missing_ok=True)  # from here until the new manifest, the folder reads as incomplete
    for final, p in staged.items():
        _done(p, final)
    files = {}
    if old is not None:
        for name, entry in old["files"].items():
            if name in entries:
                continue
            if replace:
                (folder / name).unlink(missing_ok=True)
            else:
                files[name] = entry
    files.update(entries)
    doc = {"format_version": 1, "package_version": hydro.__version__, "command": command, "files": dict(sorted(files.items()))}
    with atomic_file(folder / MANIFEST) as p:
        p.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def check_outputs(folder: str | Path, needed: tuple[str, ...] = ()) -> dict:
    """Check that `folder` holds a complete set of outputs: its ``outputs.json`` exists and every file it lists
    (and every name in `needed`) is there with the recorded size and sha256. Returns the manifest."""
    folder = Path(folder)
    doc = _read_manifest(folder)
    if doc is None:
        found = "<missing>" if not (folder / MANIFEST).exists() else "<unreadable>"
        raise _bad(folder / MANIFEST, "<file>", found, "the manifest written last by hydro run/compare: the folder was not "
                   "completely written (rerun the command that made it)")
    for name in needed:
        if name not in doc["files"]:
            raise _bad(folder / MANIFEST, f"files.{name}", "<not listed>", f"{name} among the folder's outputs")
    for name, entry in doc["files"].items():
        p = folder / name
        if not p.is_file():
            raise _bad(p, "<file>", "<missing>", f"the output listed in {MANIFEST} (rerun the command that made the folder)")
        if p.stat().st_size != entry.get("bytes") or ("sha256" in entry and sha256_file(p) != entry["sha256"]):
            raise _bad(p, "<content>", "<changed since it was written>",
                       f"the file listed in {MANIFEST}: outputs of different runs must not be mixed (rerun the command)")
    return doc
