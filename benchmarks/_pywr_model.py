"""Build and run the pywr yardstick model from an export of ``benchmarks/pywr_compare.py``.

Runs in the separate pywr virtual environment (``benchmarks/.venv-pywr``), never in the project's: pywr is GPL
and is only an outside yardstick, used as a library here. This file imports nothing from ``hydro``.

    benchmarks/.venv-pywr/bin/python benchmarks/_pywr_model.py EXPORT_DIR [--repeat 3] [--solver glpk]

Reads ``EXPORT_DIR/meta.json`` and its ``.npy`` arrays (hm3 per calendar month), writes
``EXPORT_DIR/pywr_withdrawal.npy`` (members, months, offtakes) in hm3 per month and ``EXPORT_DIR/pywr_run.json``
(pywr version, solver, seconds of each ``model.run()``).

The model, node by node of the export (nodes arrive in topological order):

- inflow node: a ``Link``, fed by a ``Catchment`` whose flow is the member's natural inflow of the month;
- junction (and a reservoir switched off): a ``Link``;
- reservoir: replaced by a ``Output`` sink (cost 0) that takes whatever arrives, and an ``Input`` whose
  min_flow = max_flow = the exported outflow (release + spill) feeding the reach below; reservoir
  operation is not compared, only allocation;
- offtake: a ``Link`` with an ``Output`` child whose max_flow is the month's request and whose cost is
  -(number of offtakes from this one down to the last in topological order): every offtake is worth more
  than any offtake below it, so the LP reproduces "upstream first";
- terminal: an ``Output`` with cost 0;
- a return flow into a node: an ``Input`` with min_flow = max_flow = the exported return flow;
- a reach with a loss: a ``LossLink`` with loss_factor_type "gross" (the share of what enters the reach);
  a reach without loss: a direct connection.

pywr flows are rates per day: every monthly volume is divided by the days of its month going in and multiplied
by them coming out. One pywr ``Scenario`` ("member") carries all members in one model.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pywr
from pywr.core import Model, Scenario
from pywr.nodes import Catchment, Input, Link, LossLink, Output
from pywr.parameters import ArrayIndexedParameter, ArrayIndexedScenarioParameter
from pywr.recorders import NumpyArrayNodeRecorder


# pywr's Timestepper hands the period frequency "M" to pandas.tseries.frequencies.to_offset for the step after the
# last; pandas 2.2+ warns that offsets want "ME" (periods still want "M"). Harmless here.
warnings.filterwarnings("ignore", message="'M' is deprecated", category=FutureWarning)


def per_day(volume: np.ndarray, days: np.ndarray) -> np.ndarray:
    """(members, months) hm3/month -> (months, members) hm3/day, the layout of ArrayIndexedScenarioParameter."""
    return np.ascontiguousarray((volume / days[None, :]).T)


def build(folder: Path, solver: str):
    meta = json.loads((folder / "meta.json").read_text())
    days = np.asarray(meta["days"], dtype=float)
    months, members = meta["months"], meta["members"]
    inflow = np.load(folder / "inflow.npy")  # (members, months, inflow nodes)
    request = np.load(folder / "request.npy")  # (months, offtakes)
    outflow = np.load(folder / "reservoir_outflow.npy")  # (members, months, reservoirs)
    returns = np.load(folder / "return_inflow.npy")  # (members, months, return destinations)

    # monthly steps: pandas period frequency "M"; each step's length in days must be the export's
    first = np.datetime64(meta["start"], "M")
    last = first + (months - 1)
    end = (last + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    model = Model(start=str(first.astype("datetime64[D]")), end=str(end), timestep="M", solver=solver)
    steps = model.timestepper
    steps.setup()
    if len(steps) != months or not np.array_equal(np.asarray(steps._deltas, dtype=float), days):
        raise SystemExit(f"pywr's monthly steps ({len(steps)}) do not match the export's {months} months and their days")
    scenario = Scenario(model, "member", size=members)

    names, downstream, loss = meta["names"], meta["downstream"], meta["loss_fraction"]
    inflow_pos = {n: k for k, n in enumerate(meta["inflow_nodes"])}
    offtake_pos = {n: k for k, n in enumerate(meta["offtake_nodes"])}
    reservoir_pos = {n: k for k, n in enumerate(meta["reservoir_nodes"])}
    return_pos = {n: k for k, n in enumerate(meta["return_destinations"])}
    n_off = len(meta["offtake_nodes"])

    enter: dict[str, object] = {}  # node -> what water arriving at it connects to
    leave: dict[str, object] = {}  # node -> what the reach below it starts from
    withdrawal_nodes = []
    for name, kind in zip(names, meta["kinds"]):
        if kind == "terminal":
            enter[name] = Output(model, name, cost=0.0)
            continue
        if kind == "reservoir":
            r = reservoir_pos[name]
            enter[name] = Output(model, f"{name}/sink", cost=0.0)
            release = ArrayIndexedScenarioParameter(model, scenario, per_day(outflow[:, :, r], days), name=f"{name}/outflow")
            leave[name] = Input(model, f"{name}/release", min_flow=release, max_flow=release)
            continue
        node = Link(model, name)
        enter[name] = leave[name] = node
        if kind == "inflow":
            k = inflow_pos[name]
            flow = ArrayIndexedScenarioParameter(model, scenario, per_day(inflow[:, :, k], days), name=f"{name}/natural_flow")
            Catchment(model, f"{name}/natural", flow=flow).connect(node)
        elif kind == "offtake":
            k = offtake_pos[name]
            cap = ArrayIndexedParameter(model, request[:, k] / days, name=f"{name}/request")
            out = Output(model, f"{name}/withdrawal", max_flow=cap, cost=-float(n_off - k))
            node.connect(out)
            withdrawal_nodes.append(out)
    for name, k in return_pos.items():
        back = ArrayIndexedScenarioParameter(model, scenario, per_day(returns[:, :, k], days), name=f"{name}/return_flow")
        Input(model, f"{name}/return", min_flow=back, max_flow=back).connect(enter[name])
    for i, name in enumerate(names):
        j = downstream[i]
        if j < 0:
            continue
        if loss[i] > 0:
            reach = LossLink(model, f"{name}->{names[j]}", loss_factor=float(loss[i]), loss_factor_type="gross")
            leave[name].connect(reach)
            reach.connect(enter[names[j]])
        else:
            leave[name].connect(enter[names[j]])
    recorders = [NumpyArrayNodeRecorder(model, node, name=f"{node.name}/rec") for node in withdrawal_nodes]
    return model, recorders, days


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--solver", default="glpk", help="a pywr solver: glpk (pywr's default), glpk-edge, lpsolve")
    args = ap.parse_args()

    t0 = time.perf_counter()
    model, recorders, days = build(args.folder, args.solver)
    model.setup()
    load_seconds = time.perf_counter() - t0
    seconds = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        model.run()
        seconds.append(time.perf_counter() - t)
    # recorder data: (months, members) hm3/day -> (members, months, offtakes) hm3/month
    withdrawal = np.stack([np.asarray(rec.data) * days[:, None] for rec in recorders], axis=-1).transpose(1, 0, 2)
    np.save(args.folder / "pywr_withdrawal.npy", withdrawal)
    (args.folder / "pywr_run.json").write_text(json.dumps({
        "pywr_version": pywr.__version__, "solver": model.solver.name, "load_seconds": load_seconds,
        "run_seconds": seconds, "nodes": len(model.nodes), "scenarios": len(model.scenarios.combinations),
    }))


if __name__ == "__main__":
    main()
