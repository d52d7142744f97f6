"""The monthly time loop: all members at once, nodes in topological order.

Order of work within month t (every quantity an array over members, hm3):

1. **Inflows.** Each inflow node receives its natural inflow for the month.
2. **Requests.** Each offtake asks min(demand, capacity x days). The allocation rule sees all requests and may
   look at the whole river before anything is routed (``begin_month``; :class:`RiverView` can route trial
   months without committing them).
3. **Routing, upstream first** (:func:`route_month`). Nodes are visited in topological order; a node's water is
   what arrived from the reaches above it (after their losses), plus return flows sent to it, plus its natural
   inflow.

   - *reservoir*: evaporation, then release by its target-storage curve, its demand support (what the rule
     allows the offtakes below it, plus the terminal requirement) and the protected flow below the dam; spill
     above capacity (:mod:`hydro.reservoirs`); what leaves is release + spill;
   - *offtake*: withdrawal = min(the rule's ceiling, water above the protected flow), where the protected flow
     is the reach's ``min_flow`` plus what the rule reserves (the delta's requirement when environment comes
     first); ``return_fraction`` of the withdrawal goes to ``return_to`` in the same month;
   - *terminal*: keeps what reaches it;
   - what leaves a node enters its downstream reach, which loses ``loss_fraction`` of it.
4. **Check.** After the loop the whole run's mass balance is checked per node and month
   (:func:`hydro.balance.check`); a residual above 1e-6 of the node's throughput raises.

No pandas or xarray inside the loop: state lives in arrays shaped (members, nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hydro import reservoirs as res
from hydro.allocation import AllocationRule
from hydro.balance import check as check_balance
from hydro.demand import Demands
from hydro.network import INFLOW, OFFTAKE, RESERVOIR, TERMINAL, Network
from hydro.timeaxis import TimeAxis

VARIABLES = (
    "natural_inflow", "inflow", "flow", "demand", "withdrawal", "shortfall", "return_flow", "canal_loss",
    "reach_loss", "evaporation", "storage", "spill", "requirement",
)
MONTH_VARIABLES = ("natural_inflow", "inflow", "flow", "withdrawal", "return_flow", "reach_loss", "evaporation", "storage", "spill")


@dataclass
class MonthView:
    """What a rule may look at while month `t` is being routed: arrays (members, nodes) filled for the nodes
    visited so far (upstream of the current one), and the month's requests (members, offtakes)."""

    t: int
    month: int  # calendar month, 0 = January
    days: float
    requests: np.ndarray
    requirement: np.ndarray  # (terminals,) hm3 this month
    flow: np.ndarray
    water: np.ndarray  # water at each node before it acts (inflow + natural inflow)
    storage: np.ndarray  # (members, reservoirs) at the start of the month


def route_month(network: Network, t: int, month: int, days: float, natural: np.ndarray, storage: np.ndarray,
                requests: np.ndarray, requirement: np.ndarray, ceiling, protected, taken=None) -> dict[str, np.ndarray]:
    """Route one month through the network; returns (members, nodes) arrays of :data:`MONTH_VARIABLES`.

    natural: (members, inflow nodes); storage: (members, reservoirs) at the start, not modified;
    ceiling(k, view) and protected(k, view) give offtake k's most it may take and the water it must leave in
    the river (members,); taken(k, amount) is told each withdrawal (None for a trial month).
    """
    members, N = natural.shape[0], network.n
    out = {v: np.zeros((members, N)) for v in MONTH_VARIABLES}
    view = MonthView(t, month, days, requests, requirement, out["flow"], np.zeros((members, N)), storage)
    arriving = np.zeros((members, N))
    kind, down, loss = network.kind, network.downstream, network.loss_fraction
    inflow_pos = network.position["inflow"]
    off_pos, res_pos = network.position["offtake"], network.position["reservoir"]
    for i in range(N):
        water = arriving[:, i].copy()
        out["inflow"][:, i] = water
        if kind[i] == INFLOW:
            nat = natural[:, inflow_pos[i]]
            out["natural_inflow"][:, i] = nat
            water = water + nat
        view.water[:, i] = water
        if kind[i] == RESERVOIR:
            r = res_pos[i]
            need = np.zeros(members)
            if network.reservoir_demand_support[r]:
                for j, w in network.support_of[r]:
                    need += w * (ceiling(off_pos[j], view) if kind[j] == OFFTAKE else requirement[network.position["terminal"][j]])
            evap, release, spill, new_storage = res.operate(network, r, storage[:, r], water, month, days, need)
            out["evaporation"][:, i] = evap
            out["spill"][:, i] = spill
            out["storage"][:, i] = new_storage
            leaving = release + spill
        elif kind[i] == OFFTAKE:
            k = off_pos[i]
            keep = network.min_flow[i] * days + protected(k, view)
            available = np.maximum(water - keep, 0.0)
            withdrawal = np.clip(ceiling(k, view), 0.0, available)
            if taken is not None:
                taken(k, withdrawal)
            out["withdrawal"][:, i] = withdrawal
            back = withdrawal * network.offtake_return_fraction[k]
            out["return_flow"][:, i] = back
            target = network.offtake_return_to[k]
            if target >= 0:
                arriving[:, target] += back
            leaving = water - withdrawal
        elif kind[i] == TERMINAL:
            leaving = np.zeros_like(water)
        else:
            leaving = water
        out["flow"][:, i] = leaving
        if down[i] >= 0:
            lost = leaving * loss[i]
            out["reach_loss"][:, i] = lost
            arriving[:, down[i]] += leaving - lost
    return out


class RiverView:
    """Lets a rule route trial months (nothing committed) before the real one, e.g. to find a common supply ratio."""

    def __init__(self, network: Network, t: int, month: int, days: float, natural, storage, requests, requirement, protected):
        self.network, self.t, self.month, self.days = network, t, month, days
        self.natural, self.storage, self.requests, self.requirement = natural, storage, requests, requirement
        self._protected = protected

    def route(self, ceiling) -> dict[str, np.ndarray]:
        """Route the month with the given ceiling(k, view) and the rule's protected flows; returns month arrays."""
        return route_month(self.network, self.t, self.month, self.days, self.natural, self.storage, self.requests,
                           self.requirement, ceiling, self._protected)


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
    months, days = axis.calendar_month, axis.days

    storage = np.broadcast_to(res.initial_storage(network, int(months[0])), (members, len(network.reservoir_idx))).copy()
    initial = np.zeros((members, N))
    initial[:, network.reservoir_idx] = storage

    rule.start(network, demands, axis, inflows)
    for t in range(T):
        m, d = int(months[t]), float(days[t])
        requests = np.broadcast_to(np.minimum(demands.offtake[t], demands.capacity * d), (members, len(network.offtake_idx)))
        river = RiverView(network, t, m, d, inflows[:, t], storage, requests, demands.terminal[t], rule.protected)
        rule.begin_month(river)
        month = route_month(network, t, m, d, inflows[:, t], storage, requests, demands.terminal[t],
                            rule.ceiling, rule.protected, rule.taken)
        for v in MONTH_VARIABLES:
            out[v][:, t, :] = month[v]
        storage = month["storage"][:, network.reservoir_idx]
    out["demand"][:, :, network.offtake_idx] = demands.offtake[None]
    out["canal_loss"][:, :, network.offtake_idx] = out["withdrawal"][:, :, network.offtake_idx] * demands.conveyance_loss
    out["requirement"][:, :, network.terminal_idx] = demands.terminal[None]
    out["shortfall"] = np.maximum(out["demand"] - out["withdrawal"], 0.0)
    out["initial_storage"] = initial
    if check:
        out["balance"] = check_balance(out, network)
    return out
