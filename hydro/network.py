"""Compile a validated :class:`~hydro.basin.Basin` into index arrays for the simulator.

Nodes are put in topological order (every node after all nodes upstream of it), so that one pass from
index 0 to N-1 routes a month's water from the headwaters to the terminals. A reservoir switched off is
compiled as a junction: it passes water through and holds none.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from hydro.basin import PLANT_FIGURES, Basin

INFLOW, JUNCTION, RESERVOIR, OFFTAKE, TERMINAL = range(5)
KIND_CODE = {"inflow": INFLOW, "junction": JUNCTION, "reservoir": RESERVOIR, "offtake": OFFTAKE, "terminal": TERMINAL}


@dataclass
class Network:
    """The basin as arrays in topological order. Volumes in hm3, rates in hm3/day."""

    basin: Basin
    names: list[str]
    kind: np.ndarray  # (N,) kind codes
    kind_name: list[str]  # (N,) kind as written (a disabled reservoir stays "reservoir" here)
    state: list[str]
    province: list[str]
    downstream: np.ndarray  # (N,) index of the next node, -1 for terminals
    loss_fraction: np.ndarray  # (N,) loss on the reach leaving each node
    min_flow: np.ndarray  # (N,) protected flow on the reach leaving each node, hm3/day
    # inflow nodes
    inflow_idx: np.ndarray
    inflow_annual: np.ndarray  # hm3/yr
    inflow_regime: list[str]
    # offtakes
    offtake_idx: np.ndarray
    offtake_demand_annual: np.ndarray  # hm3/yr
    offtake_growing_share: np.ndarray
    offtake_capacity: np.ndarray  # hm3/day, inf when none
    offtake_return_fraction: np.ndarray
    offtake_return_to: np.ndarray  # node index, -1 when nothing returns
    offtake_conveyance_loss: np.ndarray
    # reservoirs (enabled ones only)
    reservoir_idx: np.ndarray
    reservoir_capacity: np.ndarray  # hm3
    reservoir_dead: np.ndarray  # hm3
    reservoir_evaporation: np.ndarray  # hm3/yr at full storage
    reservoir_max_release: np.ndarray  # hm3/day, inf when none
    reservoir_curve: np.ndarray  # (R, 12) month-end target, fraction of active storage
    reservoir_initial: np.ndarray  # hm3, nan = start on the curve
    reservoir_demand_support: np.ndarray  # bool
    reservoir_support_weight: np.ndarray  # (R, N): 1 / path factor to each offtake or terminal it serves, else 0
    # terminals
    terminal_idx: np.ndarray
    terminal_requirement_annual: np.ndarray  # hm3/yr
    terminal_growing_share: np.ndarray
    # power plants at enabled reservoirs (hydro.energy): name -> figures in model units (m, MW, hm3/day, fraction)
    hydropower: dict = field(default_factory=dict)
    # the run's operation of each enabled reservoir (hydro.reservoirs): options (policy, energy_weight, ...), the
    # filling (None when none), the schedule (12 hm3, Jan-Dec) and energy demand (12 GWh) its node names, else None
    reservoir_options: list = field(default_factory=list)
    reservoir_filling: list = field(default_factory=list)
    reservoir_schedule: list = field(default_factory=list)
    reservoir_energy_demand: list = field(default_factory=list)

    def __post_init__(self):
        # lookups for the time loop: node index -> position among nodes of its kind
        self.position = {
            "inflow": {int(i): k for k, i in enumerate(self.inflow_idx)},
            "offtake": {int(i): k for k, i in enumerate(self.offtake_idx)},
            "reservoir": {int(i): r for r, i in enumerate(self.reservoir_idx)},
            "terminal": {int(i): j for j, i in enumerate(self.terminal_idx)},
        }
        # per reservoir: (node index, 1 / path factor) of every offtake and terminal it serves
        self.support_of = [[(int(i), float(w)) for i, w in enumerate(row) if w > 0] for row in self.reservoir_support_weight]

    @property
    def n(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def path(self, top: str, bottom: str) -> list[str]:
        """Names of the nodes from `top` (included) down the river to `bottom` (excluded)."""
        i, names = self.index(top), []
        while self.names[i] != bottom:
            names.append(self.names[i])
            i = int(self.downstream[i])
            if i < 0:
                raise ValueError(f"{bottom!r} is not downstream of {top!r}")
        return names

    def upstream_of(self, name: str) -> list[str]:
        """Names of every node whose water reaches `name` through reaches (return flows not counted)."""
        target = self.index(name)
        # in topological order a node's downstream neighbour comes after it: one pass from the bottom up
        drains = np.zeros(self.n + 1, dtype=bool)  # index -1 (no downstream node) lands on the spare last slot
        for i in range(self.n - 1, -1, -1):
            j = int(self.downstream[i])
            drains[i] = j == target or (j >= 0 and drains[j])
        return [self.names[i] for i in range(self.n) if drains[i]]

    @property
    def qosh_tepa(self) -> int | None:
        """Position among offtakes of the offtake flagged ``qosh_tepa = true`` (None when the basin has none)."""
        for k, i in enumerate(self.offtake_idx):
            if self.basin.nodes[self.names[i]].settings.get("qosh_tepa"):
                return k
        return None

    def storage_bounds(self) -> dict[str, tuple[float, float]]:
        """{reservoir: (dead storage, capacity)} in hm3 for every reservoir of the basin, switched on or off."""
        return {n: (float(self.basin.nodes[n].figure("dead_storage", 0.0) or 0.0), float(self.basin.nodes[n].figure("capacity")))
                for n, k in zip(self.names, self.kind_name) if k == "reservoir"}


Routing = namedtuple("Routing", [
    "kind", "down", "loss", "min_flow",  # (N,) kind code, downstream index (-1 none), reach loss fraction, min flow hm3/day
    "inflow_pos", "off_pos", "res_pos", "term_pos",  # (N,) position among nodes of its kind, -1 otherwise
    "off_node", "ret_frac", "ret_to",  # (K,) offtake node, return fraction, return node (-1 none)
    "res_node", "cap", "dead", "evap", "max_release", "support",  # reservoirs (R,) hm3, hm3/yr, hm3/day (targets: hydro.reservoirs.Operation)
    "sup_ptr", "sup_node", "sup_w",  # demand support: reservoir r serves nodes sup_node[sup_ptr[r]:sup_ptr[r + 1]], weights sup_w
])
Routing.__doc__ = "The network as plain arrays for the compiled monthly loop (hydro.kernel), nodes in topological order."


def routing_arrays(network) -> Routing:
    """:class:`Routing` of a :class:`Network`, or of a saved layout (:class:`hydro.layout.SavedNetwork`), which
    carries no operating figures (min flows, curves, evaporation, release limits, demand support): those are zeros
    there, and only the mass-balance check reads such arrays."""
    N, R = len(network.names), len(network.reservoir_idx)

    def position(idx):
        pos = np.full(N, -1, dtype=np.int64)
        pos[np.asarray(idx, dtype=np.int64)] = np.arange(len(idx))
        return pos

    def figure(name, shape, fill=0.0):
        value = getattr(network, name, None)
        return np.ascontiguousarray(value, dtype=float) if value is not None else np.full(shape, fill)

    weights = getattr(network, "reservoir_support_weight", np.zeros((R, N)))
    ptr, node, w = [0], [], []
    for row in weights:
        hit = np.flatnonzero(row > 0)
        node.extend(hit)
        w.extend(row[hit])
        ptr.append(len(node))
    return Routing(
        kind=np.ascontiguousarray(network.kind, dtype=np.int64), down=np.ascontiguousarray(network.downstream, dtype=np.int64),
        loss=np.ascontiguousarray(network.loss_fraction, dtype=float), min_flow=figure("min_flow", N),
        inflow_pos=position(network.inflow_idx), off_pos=position(network.offtake_idx),
        res_pos=position(network.reservoir_idx), term_pos=position(network.terminal_idx),
        off_node=np.ascontiguousarray(network.offtake_idx, dtype=np.int64),
        ret_frac=np.ascontiguousarray(network.offtake_return_fraction, dtype=float),
        ret_to=np.ascontiguousarray(network.offtake_return_to, dtype=np.int64),
        res_node=np.ascontiguousarray(network.reservoir_idx, dtype=np.int64),
        cap=np.ascontiguousarray(network.reservoir_capacity, dtype=float), dead=np.ascontiguousarray(network.reservoir_dead, dtype=float),
        evap=figure("reservoir_evaporation", R), max_release=figure("reservoir_max_release", R, np.inf),
        support=np.ascontiguousarray(getattr(network, "reservoir_demand_support", np.zeros(R, dtype=bool)), dtype=np.bool_),
        sup_ptr=np.array(ptr, dtype=np.int64), sup_node=np.array(node, dtype=np.int64), sup_w=np.array(w, dtype=float),
    )


def topological_order(basin: Basin) -> list[str]:
    """Node names ordered so that each node comes after every node upstream of it (Kahn's algorithm, stable:
    ties in file order); O(nodes + reaches), with a return flow counted as an edge to its receiving node."""
    from collections import deque

    indegree = {n: 0 for n in basin.nodes}
    targets: dict[str, list[str]] = {n: [] for n in basin.nodes}
    for r in basin.reaches:
        targets[r.source_node].append(r.target_node)
        indegree[r.target_node] += 1
    # a return flow must arrive before its receiving node is routed: treat it as an edge too
    for node in basin.nodes.values():
        target = node.settings.get("return_to")
        if node.kind == "offtake" and target and target in indegree and target not in targets[node.name]:
            targets[node.name].append(target)
            indegree[target] += 1
    ready = deque(n for n in basin.nodes if indegree[n] == 0)
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for t in targets[name]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    if len(order) != len(basin.nodes):  # validation rules this out; keep the guard for hand-built basins
        raise ValueError("the network has a cycle")
    return order


def compile_network(basin: Basin, enabled: dict[str, bool] | None = None, operation: dict[str, dict] | None = None) -> Network:
    """Build the arrays; `enabled` switches reservoirs on or off by name (overriding the basin file); `operation`
    gives a reservoir's run-file options (:func:`hydro.reservoirs.check_options`): ``regulation`` w weighs its target
    curve against holding it full (month-end target = w x the basin's curve + (1 - w) x full: w = 1 as operated,
    w = 0 the reservoir stays full and passes the river as it comes), ``policy``, ``energy_weight``, ``filling``."""
    from hydro.reservoirs import filling_of

    enabled = dict(enabled or {})
    operation = {k: dict(v) for k, v in (operation or {}).items()}
    regulation = {k: v["regulation"] for k, v in operation.items() if "regulation" in v}
    order = topological_order(basin)
    pos = {n: i for i, n in enumerate(order)}
    nodes = [basin.nodes[n] for n in order]
    reach_of = {r.source_node: r for r in basin.reaches}

    def is_on(node) -> bool:
        return bool(enabled.get(node.name, node.settings.get("enabled", True)))

    kind = np.array([KIND_CODE[nd.kind] if not (nd.kind == "reservoir" and not is_on(nd)) else JUNCTION for nd in nodes])
    downstream = np.array([pos[reach_of[nd.name].target_node] if nd.name in reach_of else -1 for nd in nodes])
    loss = np.zeros(len(nodes))
    min_flow = np.zeros(len(nodes))
    for i, nd in enumerate(nodes):
        r = reach_of.get(nd.name)
        if r is not None:
            loss[i] = r.figures["loss_fraction"].value if "loss_fraction" in r.figures else 0.0
            min_flow[i] = r.figures["min_flow"].value if "min_flow" in r.figures else 0.0

    inflows = [i for i, nd in enumerate(nodes) if nd.kind == "inflow"]
    offtakes = [i for i, nd in enumerate(nodes) if nd.kind == "offtake"]
    reservoirs = [i for i, nd in enumerate(nodes) if kind[i] == RESERVOIR]
    terminals = [i for i, nd in enumerate(nodes) if nd.kind == "terminal"]

    def curve_of(nd) -> np.ndarray:
        c = nd.settings["curve"]
        curve = np.ones(12) if c == "full" else np.zeros(12) if c == "empty" else basin.curves[c].astype(float)
        w = regulation.get(nd.name, 1.0)
        return w * curve + (1.0 - w) * np.ones(12)

    # reservoirs that support demand serve every offtake and terminal requirement downstream of them
    support = np.zeros((len(reservoirs), len(nodes)))
    for r, i in enumerate(reservoirs):
        factor, cur = 1.0, i
        while downstream[cur] >= 0:
            factor *= 1.0 - loss[cur]
            cur = downstream[cur]
            if kind[cur] in (OFFTAKE, TERMINAL):
                support[r, cur] = 1.0 / factor

    def state_limit(state: str) -> float:  # the state's annual limit: the demand of its offtakes, hm3/yr
        return float(sum(nodes[i].figures["demand"].annual_hm3 for i in offtakes if nodes[i].state == state))

    def table(nd, key: str, scale: float):
        name = nd.settings.get(key)
        return None if name is None else basin.operating_tables[name][1].astype(float) * scale

    options = [operation.get(nodes[i].name, {}) for i in reservoirs]
    return Network(
        basin=basin,
        names=order,
        kind=kind,
        kind_name=[nd.kind for nd in nodes],
        state=[nd.state for nd in nodes],
        province=[nd.province for nd in nodes],
        downstream=downstream,
        loss_fraction=loss,
        min_flow=min_flow,
        inflow_idx=np.array(inflows, dtype=int),
        inflow_annual=np.array([nodes[i].figures["annual_flow"].annual_hm3 for i in inflows]),
        inflow_regime=[nodes[i].settings["regime"] for i in inflows],
        offtake_idx=np.array(offtakes, dtype=int),
        offtake_demand_annual=np.array([nodes[i].figures["demand"].annual_hm3 for i in offtakes]),
        offtake_growing_share=np.array([nodes[i].figure("growing_share") for i in offtakes]),
        offtake_capacity=np.array([nodes[i].figure("capacity", np.inf) for i in offtakes]),
        offtake_return_fraction=np.array([nodes[i].figure("return_fraction", 0.0) for i in offtakes]),
        offtake_return_to=np.array([pos[nodes[i].settings["return_to"]] if nodes[i].figure("return_fraction", 0.0) > 0 else -1 for i in offtakes], dtype=int),
        offtake_conveyance_loss=np.array([nodes[i].figure("conveyance_loss", 0.0) for i in offtakes]),
        reservoir_idx=np.array(reservoirs, dtype=int),
        reservoir_capacity=np.array([nodes[i].figure("capacity") for i in reservoirs]),
        reservoir_dead=np.array([nodes[i].figure("dead_storage") for i in reservoirs]),
        reservoir_evaporation=np.array([nodes[i].figures["evaporation"].annual_hm3 if "evaporation" in nodes[i].figures else 0.0 for i in reservoirs]),
        reservoir_max_release=np.array([nodes[i].figure("max_release", np.inf) for i in reservoirs]),
        reservoir_curve=np.array([curve_of(nodes[i]) for i in reservoirs]).reshape(len(reservoirs), 12),
        reservoir_initial=np.array([nodes[i].figure("initial_storage", np.nan) for i in reservoirs]),
        reservoir_demand_support=np.array([bool(nodes[i].settings.get("demand_support", False)) for i in reservoirs], dtype=bool),
        reservoir_support_weight=support,
        terminal_idx=np.array(terminals, dtype=int),
        terminal_requirement_annual=np.array([nodes[i].figures["requirement"].annual_hm3 if "requirement" in nodes[i].figures else 0.0 for i in terminals]),
        terminal_growing_share=np.array([nodes[i].figure("growing_share", 0.5) for i in terminals]),
        hydropower={nodes[i].name: {k: nodes[i].figure(k) for k in PLANT_FIGURES} for i in reservoirs
                    if all(k in nodes[i].figures for k in PLANT_FIGURES)},
        reservoir_options=options,
        reservoir_filling=[filling_of(o, state_limit(nodes[i].state)) for o, i in zip(options, reservoirs)],
        reservoir_schedule=[table(nodes[i], "schedule", 1000.0) for i in reservoirs],
        reservoir_energy_demand=[table(nodes[i], "energy_demand", 1.0) for i in reservoirs],
    )
