"""The monthly time loop: all members at once, nodes in topological order.

Order of work within month t (every quantity an array over members, hm3):

1. **Inflows.** Each inflow node receives its natural inflow for the month.
2. **Requests.** Each offtake asks min(demand, capacity x days); the rule sees all requests (``begin_step``).
3. **Routing, upstream first.** Nodes are visited in topological order; a node's water is what arrived from
   the reaches above it (after their losses), plus return flows sent to it, plus its natural inflow.

   - *reservoir*: evaporation, then release by its target-storage curve (and demand support), spill above
     capacity (:mod:`hydro.reservoirs`); what leaves is release + spill;
   - *offtake*: the rule decides the withdrawal from the water above the protected flow of the reach below;
     ``return_fraction`` of the withdrawal goes to ``return_to`` (downstream or a terminal) in the same month;
   - *terminal*: keeps what reaches it;
   - what leaves a node enters its downstream reach, which loses ``loss_fraction`` of it.
4. **Check.** After the loop the whole run's mass balance is checked per node and month
   (:func:`hydro.balance.check`); a residual above 1e-6 of the node's throughput raises.

No pandas or xarray inside the loop: state lives in arrays shaped (members, nodes).
"""

from __future__ import annotations

import numpy as np

from hydro.allocation import AllocationRule
from hydro.balance import check as check_balance
from hydro.demand import Demands
from hydro.network import INFLOW, OFFTAKE, RESERVOIR, TERMINAL, Network
from hydro import reservoirs as res
from hydro.timeaxis import TimeAxis

VARIABLES = (
    "natural_inflow", "inflow", "flow", "demand", "withdrawal", "shortfall", "return_flow", "canal_loss",
    "reach_loss", "evaporation", "storage", "spill", "requirement",
)


def simulate(network: Network, inflows: np.ndarray, demands: Demands, axis: TimeAxis, rule: AllocationRule,
             check: bool = True) -> dict[str, np.ndarray]:
    """Run the model; returns arrays (members, time, node) in hm3 per month, keyed by :data:`VARIABLES`,
    plus ``initial_storage`` (members, node) and ``balance`` (the largest residuals found).

    inflows: (members, time, inflow node) hm3 per month, in the order of ``network.inflow_idx``.
    """
    members, T, n_in = inflows.shape
    if T != axis.months or n_in != len(network.inflow_idx):
        raise ValueError(f"inflows have shape {inflows.shape}, expected (members, {axis.months}, {len(network.inflow_idx)})")
    N = network.n
    out = {v: np.zeros((members, T, N)) for v in VARIABLES}
    kind = network.kind
    down = network.downstream
    loss = network.loss_fraction
    months = axis.calendar_month
    days = axis.days

    off_pos = {int(i): k for k, i in enumerate(network.offtake_idx)}
    res_pos = {int(i): r for r, i in enumerate(network.reservoir_idx)}
    term_pos = {int(i): j for j, i in enumerate(network.terminal_idx)}
    inflow_pos = {int(i): k for k, i in enumerate(network.inflow_idx)}
    support = network.reservoir_support_weight  # (R, N)

    storage = np.broadcast_to(res.initial_storage(network, int(months[0])), (members, len(network.reservoir_idx))).copy()
    initial = np.zeros((members, N))
    initial[:, network.reservoir_idx] = storage

    rule.start(network, demands, axis, members)
    for t in range(T):
        m, d = int(months[t]), float(days[t])
        requests = np.minimum(demands.offtake[t], demands.capacity * d)  # (K,)
        requests = np.broadcast_to(requests, (members, len(requests)))
        rule.begin_step(t, requests)
        asks = np.zeros((members, N))
        asks[:, network.offtake_idx] = requests
        asks[:, network.terminal_idx] = demands.terminal[t]
        need = asks @ support.T  # (M, R): what each supporting reservoir is asked to release
        arriving = np.zeros((members, N))
        for i in range(N):
            water = arriving[:, i].copy()
            out["inflow"][:, t, i] = water
            if kind[i] == INFLOW:
                nat = inflows[:, t, inflow_pos[i]]
                out["natural_inflow"][:, t, i] = nat
                water = water + nat
            if kind[i] == RESERVOIR:
                r = res_pos[i]
                evap, release, spill, storage[:, r] = res.operate(network, r, storage[:, r], water, m, d, need[:, r])
                out["evaporation"][:, t, i] = evap
                out["spill"][:, t, i] = spill
                out["storage"][:, t, i] = storage[:, r]
                leaving = release + spill
            elif kind[i] == OFFTAKE:
                k = off_pos[i]
                protected = network.min_flow[i] * d
                available = np.maximum(water - protected, 0.0)
                taken = np.clip(rule.take(k, requests[:, k], available), 0.0, available)
                out["demand"][:, t, i] = demands.offtake[t, k]
                out["withdrawal"][:, t, i] = taken
                out["canal_loss"][:, t, i] = taken * demands.conveyance_loss[k]
                back = taken * network.offtake_return_fraction[k]
                out["return_flow"][:, t, i] = back
                target = network.offtake_return_to[k]
                if target >= 0:
                    arriving[:, target] += back
                leaving = water - taken
            elif kind[i] == TERMINAL:
                out["requirement"][:, t, i] = demands.terminal[t, term_pos[i]]
                leaving = np.zeros_like(water)
            else:
                leaving = water
            out["flow"][:, t, i] = leaving
            if down[i] >= 0:
                lost = leaving * loss[i]
                out["reach_loss"][:, t, i] = lost
                arriving[:, down[i]] += leaving - lost
    out["shortfall"] = np.maximum(out["demand"] - out["withdrawal"], 0.0)
    out["initial_storage"] = initial
    if check:
        out["balance"] = check_balance(out, network)
    return out
