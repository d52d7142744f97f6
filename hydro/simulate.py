"""The monthly time loop: members in parallel, months in order, nodes in topological order.

Order of work within month t for each member (hm3; compiled in :mod:`hydro.kernel`):

1. **Inflows.** Each inflow node receives its natural inflow for the month.
2. **Requests.** Each offtake asks min(demand, capacity x days). The allocation rule (as data:
   :meth:`hydro.allocation.AllocationRule.plan`) may look at the whole river first: ``proportional`` routes trial
   months, nothing committed, to find its common ratio; a new season restarts the states' seasonal limits.
3. **Routing, upstream first.** Nodes are visited in topological order; a node's water is what arrived from the
   reaches above it (after their losses), plus return flows sent to it, plus its natural inflow.

   - *reservoir*: evaporation, then release by its target-storage curve, its demand support (what the rule
     allows the offtakes below it, plus the terminal requirement) and the protected flow below the dam; spill
     above capacity (:mod:`hydro.reservoirs`); what leaves is release + spill;
   - *offtake*: withdrawal = min(the rule's ceiling, water above the protected flow), where the protected flow
     is the reach's ``min_flow`` plus what the rule reserves (the delta's requirement when environment comes
     first); ``return_fraction`` of the withdrawal goes to ``return_to`` in the same month;
   - *terminal*: keeps what reaches it;
   - what leaves a node enters its downstream reach, which loses ``loss_fraction`` of it.
4. **Check.** Each month's mass balance is checked per node and for the basin (:mod:`hydro.balance`); a
   residual above 1e-6 of the node's throughput raises :class:`~hydro.errors.MassBalanceError`.
"""

from __future__ import annotations

import numpy as np

from hydro import reservoirs as res
from hydro.allocation import AllocationRule
from hydro.demand import Demands
from hydro.network import Network, routing_arrays
from hydro.timeaxis import TimeAxis
from hydro.variables import NAMES, ROUTED

VARIABLES = NAMES  # every output variable (hydro.variables)
MONTH_VARIABLES = ROUTED  # the ones the routing of a month fills


def requests_of(demands: Demands, axis: TimeAxis) -> np.ndarray:
    """(T, offtakes) what each offtake asks each month: min(demand, capacity x days), hm3."""
    return np.minimum(demands.offtake, demands.capacity[None, :] * axis.days[:, None])


def simulate(network: Network, inflows: np.ndarray, demands: Demands, axis: TimeAxis, rule: AllocationRule,
             check: bool = True, keep: tuple[str, ...] | None = None, nodes: np.ndarray | None = None,
             first_member: int = 0, warmup: int = 0) -> dict[str, np.ndarray]:
    """Run the model; returns arrays (members, time, node) in hm3 per month, keyed by :data:`VARIABLES`,
    plus ``initial_storage`` (members, node), ``balance`` (the largest residuals found) and ``nodes`` (the indices
    of the nodes kept: `nodes`, every node by default).

    inflows: (members, time, inflow node) hm3 per month, in the order of ``network.inflow_idx``.
    keep: the variables to return (all by default); the mass balance is checked every month either way (unless
    check=False). first_member: the run's index of the first member given (a block of a streamed run). warmup:
    months simulated first and left out of the arrays returned (checked like the others); ``initial_storage`` is
    then the storage at the end of the warm-up. The monthly loop is compiled (:func:`hydro.kernel.run`), members in
    parallel.
    """
    from hydro import kernel
    from hydro.balance import RELATIVE_TOLERANCE, raise_failure, worst_of

    members, T, n_in = inflows.shape
    if T != axis.months or n_in != len(network.inflow_idx):
        raise ValueError(f"inflows have shape {inflows.shape}, expected (members, {axis.months}, {len(network.inflow_idx)})")
    N = network.n
    keep = tuple(VARIABLES) if keep is None else tuple(keep)
    unknown = set(keep) - set(VARIABLES)
    if unknown:
        raise ValueError(f"keep: unknown variables {sorted(unknown)}; expected some of {VARIABLES}")
    if "shortfall" in keep and "withdrawal" not in keep:
        raise ValueError("keep: 'shortfall' needs 'withdrawal'")
    if not 0 <= warmup < T:
        raise ValueError(f"warmup: {warmup} months of a {T}-month run; expected 0 to {T - 1}")
    nodes = np.arange(N) if nodes is None else np.asarray(nodes, dtype=np.int64)
    # the storage at the end of the warm-up is the kept period's initial storage: route it even when not asked for
    need_storage = warmup > 0 and "storage" not in keep and bool(np.isin(network.reservoir_idx, nodes).any())
    routed = [v for v in MONTH_VARIABLES if v in keep or (v == "storage" and need_storage)]
    slot = np.array([routed.index(v) if v in routed else -1 for v in kernel.ROWS], dtype=np.int64)
    col = np.full(N, -1, dtype=np.int64)
    col[nodes] = np.arange(len(nodes))
    n = len(nodes)
    stored = np.zeros((len(routed), members, T, n)) if routed else np.zeros((1, 1, 1, 1))
    natural = np.ascontiguousarray(inflows, dtype=float)
    requests = requests_of(demands, axis)
    plan = rule.plan(network, demands, axis, natural, requests, first_member)
    storage0 = np.ascontiguousarray(res.initial_storage(network, axis), dtype=float)
    worst = np.zeros((members, 3))
    fail = np.zeros((members, len(kernel.FAIL_FIELDS)))
    kernel.run(routing_arrays(network), plan, res.operation(network, axis), natural, np.ascontiguousarray(requests, dtype=float),
               np.ascontiguousarray(demands.terminal, dtype=float), np.ascontiguousarray(axis.calendar_month, dtype=np.int64),
               np.ascontiguousarray(axis.days, dtype=float), storage0, slot, col, stored, worst, fail, bool(check), RELATIVE_TOLERANCE)
    if check:
        raise_failure(fail, network)

    out = {v: stored[routed.index(v)] for v in routed}  # (M, T, n)
    off = col[network.offtake_idx]  # offtakes among the kept nodes (-1: not kept)
    off_kept = off >= 0
    if {"demand", "shortfall"} & set(keep):
        demand = np.zeros((T, n))
        demand[:, off[off_kept]] = demands.offtake[:, off_kept]
        if "demand" in keep:
            out["demand"] = np.broadcast_to(demand[None], (members, T, n))  # the same for every member: no copy
        if "shortfall" in keep:
            out["shortfall"] = np.maximum(demand[None] - out["withdrawal"], 0.0)
    if "canal_loss" in keep:
        canal = np.zeros((members, T, n))
        if "withdrawal" in out:
            canal[:, :, off[off_kept]] = out["withdrawal"][:, :, off[off_kept]] * demands.conveyance_loss[off_kept]
        out["canal_loss"] = canal
    if "requirement" in keep:
        term = col[network.terminal_idx]
        req = np.zeros((T, n))
        req[:, term[term >= 0]] = demands.terminal[:, term >= 0]
        out["requirement"] = np.broadcast_to(req[None], (members, T, n))
    initial = np.zeros((members, N))
    initial[:, network.reservoir_idx] = storage0
    initial = initial[:, nodes]
    if warmup:
        kept_res = col[network.reservoir_idx]
        kept_res = kept_res[kept_res >= 0]
        if len(kept_res):
            initial[:, kept_res] = out["storage"][:, warmup - 1, kept_res]
        out = {k: v[:, warmup:] for k, v in out.items() if k in keep}
    out["initial_storage"] = initial
    out["nodes"] = nodes
    out["balance"] = worst_of(worst) if check else {}
    return out
