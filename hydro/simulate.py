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
from hydro.balance import MonthBalance
from hydro.demand import Demands
from hydro.network import INFLOW, OFFTAKE, RESERVOIR, TERMINAL, Network
from hydro.timeaxis import TimeAxis
from hydro.variables import NAMES, ROUTED

VARIABLES = NAMES  # every output variable (hydro.variables)
MONTH_VARIABLES = ROUTED  # the ones the routing of a month fills


@dataclass
class MonthView:
    """What a rule may look at while month `t` is being routed. Arrays are node-major: (nodes, members) filled for
    the nodes visited so far (upstream of the current one); requests (offtakes, members); storage (reservoirs,
    members) at the start of the month."""

    t: int
    month: int  # calendar month, 0 = January
    days: float
    requests: np.ndarray
    requirement: np.ndarray  # (terminals,) hm3 this month
    flow: np.ndarray
    water: np.ndarray  # water at each node before it acts (inflow + natural inflow)
    storage: np.ndarray


def route_month(network: Network, t: int, month: int, days: float, natural: np.ndarray, storage: np.ndarray,
                requests: np.ndarray, requirement: np.ndarray, ceiling, protected, taken=None,
                out: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Route one month through the network; returns (nodes, members) arrays of :data:`MONTH_VARIABLES`.

    natural: (inflow nodes, members); storage: (reservoirs, members) at the start, not modified; requests:
    (offtakes, members). ceiling(k, view) and protected(k, view) give offtake k's most it may take and the water
    it must leave in the river (members,); taken(k, amount) is told each withdrawal (None for a trial month).
    `out` may hold zeroed (nodes, members) arrays to fill in place.
    """
    members, N = natural.shape[1], network.n
    if out is None:
        out = {v: np.zeros((N, members)) for v in MONTH_VARIABLES}
    flow, inflow, water_at = out["flow"], out["inflow"], np.empty((N, members))
    view = MonthView(t, month, days, requests, requirement, flow, water_at, storage)
    arriving = np.zeros((N, members))
    kind, down, loss = network.kind, network.downstream, network.loss_fraction
    inflow_pos = network.position["inflow"]
    off_pos, res_pos, term_pos = network.position["offtake"], network.position["reservoir"], network.position["terminal"]
    for i in range(N):
        water = arriving[i]
        inflow[i] = water
        if kind[i] == INFLOW:
            nat = natural[inflow_pos[i]]
            out["natural_inflow"][i] = nat
            water = water + nat
        water_at[i] = water
        if kind[i] == RESERVOIR:
            r = res_pos[i]
            need = 0.0
            if network.reservoir_demand_support[r]:
                for j, w in network.support_of[r]:
                    need = need + w * (ceiling(off_pos[j], view) if kind[j] == OFFTAKE else requirement[term_pos[j]])
            evap, release, spill, new_storage = res.operate(network, r, storage[r], water, month, days, need)
            out["evaporation"][i] = evap
            out["spill"][i] = spill
            out["storage"][i] = new_storage
            leaving = release + spill
        elif kind[i] == OFFTAKE:
            k = off_pos[i]
            keep = network.min_flow[i] * days + protected(k, view)
            available = np.maximum(water - keep, 0.0)
            withdrawal = np.clip(ceiling(k, view), 0.0, available)
            if taken is not None:
                taken(k, withdrawal)
            out["withdrawal"][i] = withdrawal
            rf = network.offtake_return_fraction[k]
            if rf:
                back = withdrawal * rf
                out["return_flow"][i] = back
                arriving[network.offtake_return_to[k]] += back
            leaving = water - withdrawal
        elif kind[i] == TERMINAL:
            continue  # keeps what reaches it: flow stays 0
        else:
            leaving = water
        flow[i] = leaving
        if down[i] >= 0:
            if loss[i]:
                lost = leaving * loss[i]
                out["reach_loss"][i] = lost
                arriving[down[i]] += leaving - lost
            else:
                arriving[down[i]] += leaving
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
             check: bool = True, keep: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Run the model; returns arrays (members, time, node) in hm3 per month, keyed by :data:`VARIABLES`,
    plus ``initial_storage`` (members, node) and ``balance`` (the largest residuals found).

    inflows: (members, time, inflow node) hm3 per month, in the order of ``network.inflow_idx``.
    keep: the variables to return (all by default); the mass balance is checked every month either way.
    Arrays are stored time-major (time, node, members) and returned as (members, time, node) views.
    """
    members, T, n_in = inflows.shape
    if T != axis.months or n_in != len(network.inflow_idx):
        raise ValueError(f"inflows have shape {inflows.shape}, expected (members, {axis.months}, {len(network.inflow_idx)})")
    N = network.n
    keep = tuple(VARIABLES) if keep is None else tuple(keep)
    unknown = set(keep) - set(VARIABLES)
    if unknown:
        raise ValueError(f"keep: unknown variables {sorted(unknown)}; expected some of {VARIABLES}")
    stored = {v: np.zeros((T, N, members)) for v in keep if v in MONTH_VARIABLES}
    months, days = axis.calendar_month, axis.days
    natural = np.ascontiguousarray(inflows.transpose(1, 2, 0))  # (T, I, M)

    R = len(network.reservoir_idx)
    storage = np.repeat(res.initial_storage(network, int(months[0]))[:, None], members, axis=1)  # (R, M)
    initial = np.zeros((N, members))
    initial[network.reservoir_idx] = storage
    K = len(network.offtake_idx)
    balance = MonthBalance(network, members)
    scratch = {v: np.zeros((N, members)) for v in MONTH_VARIABLES if v not in stored}

    rule.start(network, demands, axis, inflows)
    for t in range(T):
        m, d = int(months[t]), float(days[t])
        requests = np.broadcast_to(np.minimum(demands.offtake[t], demands.capacity * d)[:, None], (K, members))
        river = RiverView(network, t, m, d, natural[t], storage, requests, demands.terminal[t], rule.protected)
        rule.begin_month(river)
        for a in scratch.values():
            a.fill(0.0)
        month = {v: (stored[v][t] if v in stored else scratch[v]) for v in MONTH_VARIABLES}
        route_month(network, t, m, d, natural[t], storage, requests, demands.terminal[t],
                    rule.ceiling, rule.protected, rule.taken, out=month)
        if check and scratch:  # variables not kept: check now, while the month is at hand
            balance.check_month(t, month, storage)
        storage = month["storage"][network.reservoir_idx].copy() if R else storage

    out = {v: np.moveaxis(a, 2, 0) for v, a in stored.items()}  # (M, T, N) views
    off = network.offtake_idx
    if {"demand", "shortfall"} & set(keep):
        demand = np.zeros((T, N))
        demand[:, off] = demands.offtake
        if "demand" in keep:
            out["demand"] = np.broadcast_to(demand[None], (members, T, N))  # the same for every member: no copy
        if "shortfall" in keep:
            if "withdrawal" not in stored:
                raise ValueError("keep: 'shortfall' needs 'withdrawal'")
            short = np.maximum(demand[:, :, None] - stored["withdrawal"], 0.0)  # in the stored (T, N, M) layout
            out["shortfall"] = np.moveaxis(short, 2, 0)
    if "canal_loss" in keep:
        canal = np.zeros((members, T, N))
        if "withdrawal" in stored:
            canal[:, :, off] = out["withdrawal"][:, :, off] * demands.conveyance_loss
        out["canal_loss"] = canal
    if "requirement" in keep:
        req = np.zeros((T, N))
        req[:, network.terminal_idx] = demands.terminal
        out["requirement"] = np.broadcast_to(req[None], (members, T, N))
    out["initial_storage"] = initial.T.copy()
    if check and not scratch:  # everything kept: check the whole run at once, block by block
        from hydro.balance import check as check_run

        out["balance"] = check_run(out, network)
    else:
        out["balance"] = balance.summary() if check else {}
    return out
