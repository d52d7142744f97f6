"""One run end to end: run file -> basin -> network -> inflows and demands -> simulation -> Dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from hydro import hydrology
from hydro.allocation import AllocationRule, make_rule
from hydro.basin import Basin, load_basin
from hydro.demand import Demands, build_demands
from hydro.network import Network, compile_network
from hydro.results import provenance, to_dataset
from hydro.scenario import Scenario
from hydro.simulate import simulate
from hydro.stochastic import Parameters


@dataclass
class Inputs:
    """Everything the simulator needs for one scenario, and the year types of its inflows."""

    basin: Basin
    network: Network
    inflows: np.ndarray  # (member, time, inflow node) hm3
    demands: Demands
    rule: AllocationRule
    exceedance: np.ndarray  # (member, time): exceedance probability of the month's water year at Kerki
    year_type: np.ndarray  # (member, time): "dry" | "normal" | "wet"
    notes: dict


def build_inflows(scenario: Scenario, network: Network, params: Parameters) -> tuple[np.ndarray, dict]:
    """Natural inflows of the run (members, time, inflow node) in hm3, after scale and melt shift; and notes."""
    h, axis, members = scenario.hydrology, scenario.axis, scenario.members
    shift = float(h["melt_shift_weeks"])
    notes: dict = {}
    kind = scenario.hydrology_kind
    if kind == "series":
        inflows = hydrology.read_series(scenario.series_path, network, axis, members, shift)
    elif kind == "stochastic":
        inflows = hydrology.stochastic(network, axis, members, scenario.seed, params, shift)
    elif kind == "year_type":
        factor, p = hydrology.year_type_scale(network, params, h["year"], h["exceedance"])
        inflows = hydrology.climatology(network, axis, members, shift) * factor
        notes.update(year_type_exceedance=p, year_type_factor=factor)
    elif kind == "historical":
        inflows = hydrology.historical(network, axis, members, list(h["replay"]), shift)
        notes["replay"] = ",".join(str(y) for y in h["replay"])
    else:
        inflows = hydrology.climatology(network, axis, members, shift)
    return inflows * scenario.scale, notes


def prepare(scenario: Scenario) -> Inputs:
    """Load the basin, compile the network with the run's reservoir switches, build inflows and demands."""
    basin = load_basin(scenario.basin_path)
    network = compile_network(basin, scenario.reservoirs_enabled)
    rule = make_rule(scenario.rule, str(scenario.path or "<run>"), scenario.allocation)
    h = scenario.hydrology
    params = Parameters.of(network, h["annual_cv"], h["lag1"], h["cross_correlation"])
    inflows, notes = build_inflows(scenario, network, params)
    exceedance, year_type = hydrology.year_types(inflows, network, scenario.axis, params, h["dry_exceedance"], h["wet_exceedance"])
    demands = build_demands(network, scenario.axis, scenario.qosh_tepa)
    return Inputs(basin, network, inflows, demands, rule, exceedance, year_type, notes)


def _dataset(scenario: Scenario, inputs: Inputs, arrays: dict, members: slice | None = None) -> xr.Dataset:
    attrs = provenance(scenario, inputs.basin)
    attrs["natural_norm_km3"] = float(inputs.network.inflow_annual.sum()) / 1000.0
    attrs.update({k: v for k, v in inputs.notes.items()})
    if getattr(inputs.rule, "unsourced", False):
        attrs["rule_note"] = f"{scenario.rule}: UNSOURCED limits (no primary text found; textbook figures, configurable)"
    ds = to_dataset(arrays, inputs.network, scenario.axis, attrs)
    sel = members if members is not None else slice(None)
    ds = ds.assign_coords(
        year_type=(("member", "time"), inputs.year_type[sel].astype(str).astype(object),
                   {"long_name": "type of the month's water year by the exceedance of its natural flow at Kerki",
                    "dry_exceedance": scenario.hydrology["dry_exceedance"], "wet_exceedance": scenario.hydrology["wet_exceedance"]}),
        exceedance=(("member", "time"), inputs.exceedance[sel],
                    {"long_name": "share of years (stochastic reference, 100,000 years) with at least this water year's natural flow at Kerki", "units": "1"}),
    )
    if members is not None:
        ds = ds.assign_coords(member=np.arange(members.start, members.start + ds.sizes["member"]))
    return ds


def run_scenario(scenario: Scenario, keep: tuple[str, ...] | None = None) -> xr.Dataset:
    """Simulate `scenario` and return its results Dataset (mass balance checked every month); `keep` limits the
    variables held (all by default)."""
    inputs = prepare(scenario)
    arrays = simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, inputs.rule, keep=keep)
    return _dataset(scenario, inputs, arrays)


BLOCK_BYTES = 1.5e9  # results of one block of members held in memory at a time by run_to_file


def block_members(scenario: Scenario, nodes: int) -> int:
    """Members per block so that one block's 13 result variables take about BLOCK_BYTES (float64)."""
    return max(1, int(BLOCK_BYTES // (13 * 8 * scenario.axis.months * nodes)))


def run_to_file(scenario: Scenario, path) -> None:
    """Simulate `scenario` block of members by block and append each block to the netCDF file `path`, so that a
    run larger than memory (10,000 members x 100 years) streams to disk. Each block starts its rule afresh
    (members are independent; a rule's random forecast errors repeat from block to block)."""
    import netCDF4

    inputs = prepare(scenario)
    members = inputs.inflows.shape[0]
    step = block_members(scenario, inputs.network.n)
    for m0 in range(0, members, step):
        m1 = min(members, m0 + step)
        rule = make_rule(scenario.rule, str(scenario.path or "<run>"), scenario.allocation)
        arrays = simulate(inputs.network, inputs.inflows[m0:m1], inputs.demands, scenario.axis, rule)
        ds = _dataset(scenario, inputs, arrays, slice(m0, m1))
        if m0 == 0:
            chunk = min(step, 64)
            encoding = {v: {"zlib": True, "complevel": 1, **({"chunksizes": (chunk, *ds[v].shape[1:])} if ds[v].dims[:1] == ("member",) else {})}
                        for v in ds.data_vars}
            ds.attrs["mass_balance_max_rel"] = np.nan  # filled in at the end, over every block
            ds.to_netcdf(path, engine="netcdf4", encoding=encoding, unlimited_dims=["member"])
            worst = dict(arrays["balance"])
            continue
        worst = {k: max(worst[k], arrays["balance"][k]) for k in worst}
        with netCDF4.Dataset(path, "a") as nc:
            nc["member"][m0:m1] = ds.member.values
            for name in [*ds.data_vars, "year_type", "exceedance"]:
                da = ds[name]
                if da.dims[:1] == ("member",):
                    nc[name][m0:m1, ...] = da.values
    with netCDF4.Dataset(path, "a") as nc:
        nc.setncattr("mass_balance_max_abs_hm3", worst["max_abs_hm3"])
        nc.setncattr("mass_balance_max_rel", worst["max_rel"])
