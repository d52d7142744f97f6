"""One run end to end: run file -> basin -> network -> inflows and demands -> simulation -> Dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from hydro import hydrology
from hydro.allocation import AllocationRule, make_rule
from hydro.basin import Basin, load_basin
from hydro.demand import Demands, build_demands
from hydro.network import Network, compile_network
from hydro.layout import layout_json, set_layouts_json
from hydro.parameter_sets import of_run, with_set
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
        factor, p = hydrology.year_type_scale(network, params, h["year"], h["exceedance"], scenario.analysis["dry_exceedance"],
                                              scenario.analysis["wet_exceedance"])
        inflows = hydrology.climatology(network, axis, members, shift) * factor
        notes.update(year_type_exceedance=p, year_type_factor=factor)
    elif kind == "historical":
        inflows = hydrology.historical(network, axis, members, list(h["replay"]), shift)
        notes["replay"] = ",".join(str(y) for y in h["replay"])
    else:
        inflows = hydrology.climatology(network, axis, members, shift)
    if h["trend"]:  # a factor per water year, linear between the given years: a changing climate over the run
        years = np.array([y for y, _ in h["trend"]], dtype=float)
        factors = np.interp(axis.water_year.astype(float), years, np.array([f for _, f in h["trend"]], dtype=float))
        inflows = inflows * factors[None, :, None]
        notes["trend"] = ", ".join(f"{y}: x{f:g}" for y, f in h["trend"])
    return inflows * scenario.scale, notes


def prepare(scenario: Scenario) -> Inputs:
    """Load the basin, compile the network with the run's reservoir switches, build inflows and demands."""
    basin = load_basin(scenario.basin_path, scenario.parameters)
    network = compile_network(basin, scenario.reservoirs_enabled, scenario.reservoirs_operation)
    rule = make_rule(scenario.rule, str(scenario.path or "<run>"), scenario.allocation)
    h = scenario.hydrology
    params = Parameters.of(network, h["annual_cv"], h["lag1"], h["cross_correlation"])
    inflows, notes = build_inflows(scenario, network, params)
    a = scenario.analysis
    exceedance, year_type = hydrology.year_types(inflows, network, scenario.axis, params, a["dry_exceedance"], a["wet_exceedance"])
    demands = build_demands(network, scenario.axis, scenario.qosh_tepa)
    return Inputs(basin, network, inflows, demands, rule, exceedance, year_type, notes)


def _dataset(scenario: Scenario, inputs: Inputs, arrays: dict, members: slice | None = None) -> xr.Dataset:
    attrs = provenance(scenario, inputs.basin)
    attrs["natural_norm_km3"] = float(inputs.network.inflow_annual.sum()) / 1000.0
    attrs.update({k: v for k, v in inputs.notes.items()})
    if getattr(inputs.rule, "unsourced", False):
        attrs["rule_note"] = f"{scenario.rule}: UNSOURCED limits (no primary text found; textbook figures, configurable)"
    w = scenario.warmup_months
    if w:
        axis = scenario.axis
        attrs["warmup"] = (f"{w // 12} year(s) from {axis.start} simulated first and left out of these results "
                           f"(analysis.warmup_years); they start in {axis.start + w}")
    ds = to_dataset(arrays, inputs.network, scenario.reported_axis, attrs)
    sel = (members if members is not None else slice(None), slice(w, None))
    ds = ds.assign_coords(
        year_type=(("member", "time"), inputs.year_type[sel].astype(str).astype(object),
                   {"long_name": "type of the month's water year by the exceedance of its natural flow at Kerki",
                    "dry_exceedance": scenario.analysis["dry_exceedance"], "wet_exceedance": scenario.analysis["wet_exceedance"]}),
        exceedance=(("member", "time"), inputs.exceedance[sel],
                    {"long_name": "share of years (stochastic reference, 100,000 years) with at least this water year's natural flow at Kerki", "units": "1"}),
    )
    if members is not None:
        ds = ds.assign_coords(member=np.arange(members.start, members.start + ds.sizes["member"]))
    return ds


def run_scenario(scenario: Scenario, detail: str = "full") -> xr.Dataset:
    """Simulate `scenario` and return its results Dataset (mass balance checked every month), keeping every
    variable at every node ("full") or a summary's (:func:`detail_of`)."""
    return _run(scenario, detail)[1]


def _run(scenario: Scenario, detail: str = "full") -> tuple[Inputs, xr.Dataset]:
    sets = of_run(scenario)
    if sets:  # each set in turn, its members numbered after the sets before it
        parts = [(_run(with_set(scenario, values), detail), number) for number, values in sets]
        labelled = [label_set(d, scenario, number, k) for k, ((_, d), number) in enumerate(parts)]
        return parts[0][0][0], _crossed_attrs(stack_members(labelled), labelled)
    inputs = prepare(scenario)
    keep, nodes = detail_of(detail, inputs.network)
    arrays = simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, inputs.rule, keep=keep, nodes=nodes,
                      warmup=scenario.warmup_months)
    return inputs, _dataset(scenario, inputs, arrays)


def label_set(ds: xr.Dataset, scenario: Scenario, number: int, k: int, first_member: int = 0) -> xr.Dataset:
    """The results of parameter set `number` (the `k`-th of `scenario`'s sets) as members k x members + j, with the
    coordinates ``parameter_set`` and ``hydrological_member`` along ``member``; the provenance is `scenario`'s."""
    j = np.arange(first_member, first_member + ds.sizes["member"])
    ds = ds.assign_coords(
        member=k * scenario.members + j,
        parameter_set=("member", np.full(len(j), int(number)), {"long_name": "behavioural parameter set of the basin's parameter_sets file (its set number)"}),
        hydrological_member=("member", j, {"long_name": "member of the run's hydrology this simulation repeats under its parameter set"}),
    )
    if "run_config_json" in ds.attrs:  # a run (a counterpart keeps its own short attributes)
        ds.attrs.update(run_config_json=json.dumps(scenario.doc, sort_keys=True, default=str))
    return ds


def stack_members(parts: list[xr.Dataset]) -> xr.Dataset:
    """Datasets of the same run under different parameter sets, one after the other along ``member`` (what has no
    member dimension, the time and node coordinates, is the same in each: the first's is kept, with its attributes)."""
    return xr.concat(parts, "member", data_vars="minimal", coords="minimal", compat="override", combine_attrs="override")


def _crossed_attrs(ds: xr.Dataset, parts: list[xr.Dataset]) -> xr.Dataset:
    """`ds` (the sets concatenated) with the largest mass-balance residual of its `parts` (one labelled Dataset per
    set), a note of its sets and each set's network layout (``parameter_set_networks_json``)."""
    for key in ("mass_balance_max_rel", "mass_balance_max_abs_hm3"):
        if key in ds.attrs:
            ds.attrs[key] = float(max(p.attrs[key] for p in parts))
    ds.attrs["parameter_sets"] = ",".join(str(int(x)) for x in dict.fromkeys(ds.parameter_set.values.tolist()))
    ds.attrs["parameter_set_networks_json"] = set_layouts_json(ds.attrs["network_json"], {int(p.parameter_set.values[0]): p.attrs["network_json"] for p in parts})
    return ds


BLOCK_BYTES = 1.5e9  # results of one block of members held in memory at a time by run_to_file

# counterpart runs a report and leverage compare a run against: name -> run-file overrides
WITHOUT_QOSH_TEPA = [("qosh_tepa.withdrawal_km3", 0.0)]
DRY_YEAR = [("hydrology.kind", "year_type"), ("hydrology.year", "dry"), ("hydrology.members", 1)]
COUNTERPARTS = {
    "without_qosh_tepa": WITHOUT_QOSH_TEPA,
    "dry_year": DRY_YEAR,
    "dry_year_without_qosh_tepa": [*DRY_YEAR, *WITHOUT_QOSH_TEPA],
}


def block_members(scenario: Scenario, nodes: int) -> int:
    """Members per block so that one block's 13 result variables take about BLOCK_BYTES (float64)."""
    return max(1, int(BLOCK_BYTES // (13 * 8 * scenario.axis.months * nodes)))


def detail_of(detail: str, network) -> tuple[tuple[str, ...] | None, list[int] | None]:
    """(variables, node indices) a run of `detail` keeps: everything for "full", the summary's otherwise
    (:data:`hydro.variables.SUMMARY_VARIABLES` at :func:`hydro.variables.summary_nodes`, stored as float32)."""
    from hydro.variables import SUMMARY_VARIABLES, summary_nodes

    return (None, None) if detail == "full" else (SUMMARY_VARIABLES, summary_nodes(network))


def same_inflows(overrides: list) -> bool:
    """True when a counterpart's overrides leave the hydrology alone: it reuses the run's inflows, member by member
    (and is streamed with it, block by block); otherwise it has inflows of its own (the one-member dry year)."""
    return not any(k.startswith("hydrology.") for k, _ in overrides)


def needed_counterparts(scenario: Scenario, has_dry_years: bool) -> dict[str, list]:
    """The counterpart runs `scenario` needs: without Qosh Tepa (unless it withdraws nothing already), and a dry
    year (the middle of the dry class, :func:`hydro.analysis.named_dry_year`) with and without when the run itself has
    no dry water year."""
    out = {}
    if scenario.qosh_tepa.withdrawal_km3 > 0:
        out["without_qosh_tepa"] = COUNTERPARTS["without_qosh_tepa"]
    if not has_dry_years:
        out["dry_year"] = COUNTERPARTS["dry_year"]
        if scenario.qosh_tepa.withdrawal_km3 > 0:
            out["dry_year_without_qosh_tepa"] = COUNTERPARTS["dry_year_without_qosh_tepa"]
    return out


def counterpart_arrays(scenario: Scenario, overrides: list, name: str, base: Inputs | None = None, members: slice | None = None,
                       keep_plants: bool = False) -> tuple[Scenario, Inputs, dict]:
    """The simulation of :func:`counterpart` without the Dataset: (the counterpart's scenario, its inputs, the arrays
    :func:`hydro.simulate.simulate` returns, mass balance checked)."""
    from dataclasses import replace

    from hydro.scenario import scenario_from_dict
    from hydro.variables import COUNTERPART, SUMMARY_GAUGES

    other = scenario_from_dict(scenario.doc, scenario.path, overrides)
    other.basin_path, other.series_path = scenario.basin_path, other.series_path or scenario.series_path
    rule = make_rule(other.rule, str(other.path or "<run>"), other.allocation)
    if base is not None and same_inflows(overrides):
        inputs = replace(base, demands=build_demands(base.network, other.axis, other.qosh_tepa), rule=rule)
    else:
        inputs = prepare(other)
    inflows = inputs.inflows if members is None else inputs.inflows[members]
    net = inputs.network
    kept = [i for i, (n, k) in enumerate(zip(net.names, net.kind_name)) if k in ("offtake", "terminal") or n in SUMMARY_GAUGES]
    keep = COUNTERPART
    if keep_plants or name.startswith("dry_year"):
        kept = sorted({*kept, *(net.index(p) for p in net.hydropower)})
        keep = (*COUNTERPART, "flow", "storage")
    arrays = simulate(net, inflows, inputs.demands, other.axis, inputs.rule, keep=keep, nodes=kept,
                      first_member=members.start if members is not None else 0, warmup=other.warmup_months)
    return other, inputs, arrays


def counterpart(scenario: Scenario, overrides: list, name: str, base: Inputs | None = None, members: slice | None = None,
                keep_plants: bool = False) -> xr.Dataset:
    """One counterpart run of `scenario` (its run document with `overrides`), keeping what reports need
    (:data:`hydro.variables.COUNTERPART`) at offtakes, terminals and the gauges (Kerki). When the overrides leave the hydrology alone,
    the inflows of `base` (the run's own inputs) are reused, so the members are paired; `members` limits it to a
    block of them. The dry-year counterpart (and any with `keep_plants`) keeps its plants' release and storage too,
    for their energy."""
    other, inputs, arrays = counterpart_arrays(scenario, overrides, name, base, members, keep_plants)
    ds = _dataset(other, inputs, arrays, members)
    ds.attrs = {"title": f"{ds.attrs.get('title', '')}: counterpart {name}", "counterpart": name,
                "overrides_json": json.dumps(overrides), "rule": other.rule, "package_version": ds.attrs["package_version"],
                "qosh_tepa_withdrawal_km3": float(other.qosh_tepa.withdrawal_km3), "hydrology": other.hydrology_kind,
                "mass_balance_max_rel": ds.attrs["mass_balance_max_rel"]}
    return ds


PROCESS_BYTES = 0.3e9  # the interpreter and its libraries (measured: 0.25 GB after imports)
BLOCK_FACTOR = 2.0  # peak over one block's 13 float64 variables (copies while writing)
MEMBER_MONTH_BYTES = 470  # inputs, year types and summaries per member-month, held for the whole run
# measured peaks (30 years, /usr/bin/time -v): 1,000 members 2.2 GB, 4,000 3.5 GB, 10,000 4.5 GB (streamed);
# the estimate gives 2.6, 4.0 and 5.0 GB


def estimate_bytes(scenario: Scenario, nodes: int) -> dict[str, float]:
    """Memory a run will need (bytes): the process, inflows and year types of every member, and the results of
    one block (every member when it is not streamed), as measured on the shipped basin."""
    members, months = scenario.simulations, scenario.axis.months
    per_member = 13 * 8 * months * nodes
    block = min(members, block_members(scenario, nodes))
    return {"inputs": PROCESS_BYTES + members * months * MEMBER_MONTH_BYTES, "block": block * per_member * BLOCK_FACTOR,
            "streamed": members > block}


def check_memory(scenario: Scenario, nodes: int, available: float | None = None) -> None:
    """Refuse a run whose inputs alone would not fit in memory, with the figure (ScenarioError)."""
    from hydro.errors import Problem, ScenarioError

    need = estimate_bytes(scenario, nodes)
    total = need["inputs"] + need["block"]
    available = available if available is not None else _available_memory()
    if available and total > 0.8 * available:
        raise ScenarioError([Problem(str(scenario.path or "<run>"), "hydrology.members", scenario.members,
                                     f"a run that fits in memory: {scenario.simulations:,} members x {scenario.axis.months} months need about "
                                     f"{total / 2**30:.1f} GiB, {available / 2**30:.1f} GiB are available (fewer members, or split it into a sweep over hydrology.seed)")])


def _available_memory() -> float | None:
    """Bytes this process may still allocate: the smaller of free memory and an address-space limit."""
    import resource

    free = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
        free = float(info.get("MemAvailable", 0)) or None
    except (OSError, ValueError, IndexError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        free = min(free, float(soft)) if free else float(soft)
    return free


def run_with_counterparts(scenario: Scenario, detail: str = "full", tick=None) -> tuple[xr.Dataset, dict[str, xr.Dataset]]:
    """Simulate `scenario` (keeping what `detail` keeps) and the counterpart runs its report needs
    (:func:`needed_counterparts`)."""
    sets = of_run(scenario)
    if sets:  # each set with its own counterparts, concatenated set after set (the dry year: one member per set)
        parts, has_dry = [], None
        for k, (number, values) in enumerate(sets):
            sub = with_set(scenario, values)
            ds, others = _run_with_counterparts(sub, detail, has_dry)
            has_dry = bool((ds.year_type == "dry").any()) if has_dry is None else has_dry
            parts.append((label_set(ds, scenario, number, k), {n: label_set(o, replace_members(scenario, o), number, k) for n, o in others.items()}))
            if tick:
                tick()
        ds = _crossed_attrs(stack_members([p[0] for p in parts]), [p[0] for p in parts])
        others = {n: stack_members([p[1][n] for p in parts]) for n in parts[0][1]}
        return ds, others
    return _run_with_counterparts(scenario, detail)


def replace_members(scenario: Scenario, ds: xr.Dataset) -> Scenario:
    """`scenario` with as many hydrological members as `ds` has (a one-member dry-year counterpart)."""
    from dataclasses import replace

    return replace(scenario, members=ds.sizes["member"])


def _run_with_counterparts(scenario: Scenario, detail: str, has_dry: bool | None = None) -> tuple[xr.Dataset, dict[str, xr.Dataset]]:
    inputs, ds = _run(scenario, detail)
    has_dry = bool((ds.year_type == "dry").any()) if has_dry is None else has_dry
    others = {name: counterpart(scenario, ov, name, inputs) for name, ov in needed_counterparts(scenario, has_dry).items()}
    return ds, others


def run_to_file(scenario: Scenario, path, detail: str = "full", tick=None) -> None:
    """Simulate `scenario` block of members by block and append each block to the netCDF file `path` (CF layout,
    member the unlimited dimension), with its counterpart runs block by block too, so that a run larger than
    memory (10,000 members x 100 years) streams to disk. Members are independent, and a rule's random forecast
    errors follow each member's own stream, so a streamed run equals an in-memory one member by member."""
    import netCDF4

    from hydro.results import (
        COUNTERPART_GROUP,
        netcdf_writing,
        to_cf,
        with_relative_paths,
        write_counterpart,
        write_results,
    )

    sets = of_run(scenario)
    runs = [(number, with_set(scenario, values)) for number, values in sets] or [(None, scenario)]
    wanted, worst, layouts = None, None, {}
    for k, (number, sub) in enumerate(runs):
        inputs = prepare(sub)
        layouts[number] = layout_json(inputs.network)
        members = inputs.inflows.shape[0]
        keep, nodes = detail_of(detail, inputs.network)
        step = block_members(scenario, inputs.network.n)  # a summary too: its blocks are then a third of the bytes
        if wanted is None:  # the first set decides, so that every set has the same counterparts
            wanted = needed_counterparts(scenario, bool((inputs.year_type == "dry").any()))
        for m0 in range(0, members, step):
            m1 = min(members, m0 + step)
            rule = make_rule(sub.rule, str(sub.path or "<run>"), sub.allocation)
            arrays = simulate(inputs.network, inputs.inflows[m0:m1], inputs.demands, sub.axis, rule, keep=keep, nodes=nodes, first_member=m0,
                              warmup=sub.warmup_months)
            ds = _dataset(sub, inputs, arrays, slice(m0, m1))
            blocks = {name: counterpart(sub, ov, name, inputs, slice(m0, m1)) for name, ov in wanted.items() if same_inflows(ov)}
            if number is not None:
                ds = label_set(ds, scenario, number, k, m0)
                blocks = {name: label_set(b, scenario, number, k, m0) for name, b in blocks.items()}
            if worst is None:
                ds.attrs["mass_balance_max_rel"] = np.nan  # filled in at the end, over every block
                if number is not None:
                    ds.attrs["parameter_sets"] = ",".join(str(int(n)) for n, _ in sets)
                write_results(ds, path, unlimited_member=True, member_chunk=min(step, 64), float32=detail != "full")
                for name, other in blocks.items():
                    write_counterpart(other, path, name)
                for name, ov in wanted.items():  # inflows of their own (one-member dry years): whole, every set's
                    if not same_inflows(ov):
                        parts = [counterpart(r, ov, name) for _, r in runs]
                        if number is not None:
                            parts = [label_set(o, replace_members(scenario, o), n, i) for i, ((n, _), o) in enumerate(zip(runs, parts))]
                        write_counterpart(stack_members(parts), path, name, own_members=True)
                worst = dict(arrays["balance"])
                if tick:
                    tick()
                continue
            worst = {key: max(worst[key], arrays["balance"][key]) for key in worst}
            if tick:
                tick()
            a, b = int(ds.member.values[0]), int(ds.member.values[-1]) + 1
            with netcdf_writing(path), netCDF4.Dataset(path, "a") as nc:
                for group, block in [(nc, to_cf(with_relative_paths(ds, path)))] + [(nc[COUNTERPART_GROUP][n], to_cf(o)) for n, o in blocks.items()]:
                    group["member"][a:b] = block.member.values
                    for name, da in block.variables.items():
                        if "member" in da.dims and name != "member":
                            index = tuple(slice(a, b) if d == "member" else slice(None) for d in da.dims)
                            group[name][index] = da.values
    with netcdf_writing(path), netCDF4.Dataset(path, "a") as nc:
        nc.setncattr("mass_balance_max_abs_hm3", worst["max_abs_hm3"])
        nc.setncattr("mass_balance_max_rel", worst["max_rel"])
        if sets:
            nc.setncattr("parameter_set_networks_json", set_layouts_json(layouts[sets[0][0]], layouts))


def write_run(scenario: Scenario, path, detail: str = "full") -> bool:
    """Simulate `scenario` with its counterpart runs into the results file `path` (CF netCDF), keeping every
    variable at every node ("full") or a summary (float32); a run larger than memory streams block by block.
    Returns True when it was streamed (read it back lazily)."""
    from hydro.progress import bar

    nodes = len(load_basin(scenario.basin_path).nodes)
    check_memory(scenario, nodes)
    sets = max(1, scenario.parameter_sets)
    if scenario.simulations > block_members(scenario, nodes):
        blocks = -(-scenario.members // block_members(scenario, nodes))
        progress = bar(sets * blocks, "run", "block")
        run_to_file(scenario, path, detail, tick=lambda: progress.update(1))
        progress.close()
        return True
    from hydro.results import write_results

    progress = bar(sets, "run", "parameter set")
    ds, others = run_with_counterparts(scenario, detail, tick=lambda: progress.update(1))
    progress.close()
    write_results(ds, path, others, float32=detail != "full")
    return False
