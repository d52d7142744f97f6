"""The network's layout as a results file carries it, so that readers never open the basin folder.

:func:`layout_json` turns a compiled :class:`hydro.network.Network` into JSON (written in the results'
``network_json`` attribute); :func:`layout_from_json` reads it back as a :class:`SavedNetwork`, which has the
attributes of a ``Network`` that the readers use (names, kinds, states, provinces, reaches, return links, loss
fractions, capacities, storage bounds, annual inflows and demands) under the same names and in the same units.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from hydro.network import KIND_CODE, RESERVOIR

LAYOUT_VERSION = 1


def _number(x) -> float | None:
    """A float for JSON: None for NaN or infinite (JSON has neither)."""
    x = float(x)
    return x if np.isfinite(x) else None


def layout_json(network) -> str:
    """The layout of `network` as a JSON text (volumes hm3, rates hm3/day, annual figures hm3/yr)."""
    n = network.n
    capacity = [None] * n  # offtakes: canal capacity, hm3/day; reservoirs: storage capacity, hm3
    dead = [None] * n
    for k, i in enumerate(network.offtake_idx):
        capacity[i] = _number(network.offtake_capacity[k])
    for name, (low, high) in network.storage_bounds().items():  # every reservoir, switched on or off
        i = network.index(name)
        capacity[i], dead[i] = _number(high), _number(low)
    return_to = [-1] * n
    return_fraction = [0.0] * n
    conveyance = [0.0] * n
    demand = [0.0] * n
    for k, i in enumerate(network.offtake_idx):
        return_to[i] = int(network.offtake_return_to[k])
        return_fraction[i] = float(network.offtake_return_fraction[k])
        conveyance[i] = float(network.offtake_conveyance_loss[k])
        demand[i] = float(network.offtake_demand_annual[k])
    inflow = [0.0] * n
    for k, i in enumerate(network.inflow_idx):
        inflow[i] = float(network.inflow_annual[k])
    doc = {
        "layout_version": LAYOUT_VERSION,
        "names": list(network.names),
        "kind": list(network.kind_name),
        "active": [int(network.kind[i] == RESERVOIR) if k == "reservoir" else 1 for i, k in enumerate(network.kind_name)],
        "state": list(network.state),
        "province": list(network.province),
        "downstream": [int(j) for j in network.downstream],
        "loss_fraction": [float(x) for x in network.loss_fraction],
        "min_flow_hm3_per_day": [float(x) for x in network.min_flow],
        "capacity": capacity,
        "dead_storage_hm3": dead,
        "return_to": return_to,
        "return_fraction": return_fraction,
        "conveyance_loss": conveyance,
        "demand_annual_hm3": demand,
        "inflow_annual_hm3": inflow,
        "hydropower": {name: dict(plant) for name, plant in getattr(network, "hydropower", {}).items()},  # hydro.energy
        "energy_demand_gwh": {network.names[i]: [float(x) for x in table]  # per month January-December
                              for i, table in zip(getattr(network, "reservoir_idx", []), getattr(network, "reservoir_energy_demand", []))
                              if table is not None},
    }
    return json.dumps(doc, sort_keys=True)


@dataclass
class SavedNetwork:
    """A network's layout read back from a results file (same attribute names and units as ``Network``)."""

    names: list[str]
    kind_name: list[str]
    active: np.ndarray
    state: list[str]
    province: list[str]
    downstream: np.ndarray
    loss_fraction: np.ndarray
    min_flow: np.ndarray
    capacity: np.ndarray  # offtakes: hm3/day; reservoirs: storage capacity hm3; NaN where none
    dead_storage: np.ndarray  # reservoirs: hm3; NaN elsewhere
    return_to: np.ndarray
    return_fraction: np.ndarray
    conveyance_loss: np.ndarray
    demand_annual: np.ndarray
    inflow_annual_all: np.ndarray
    hydropower: dict = field(default_factory=dict)  # reservoir -> plant figures (m, MW, hm3/day, fraction)
    energy_demand_gwh: dict = field(default_factory=dict)  # reservoir -> the demand on its plant, GWh per month Jan-Dec
    kind: np.ndarray = field(init=False)

    def __post_init__(self):
        self.kind = np.array([KIND_CODE[k] if not (k == "reservoir" and not a) else KIND_CODE["junction"]
                              for k, a in zip(self.kind_name, self.active)])
        self.inflow_idx = np.flatnonzero(np.array(self.kind_name) == "inflow")
        self.offtake_idx = np.flatnonzero(np.array(self.kind_name) == "offtake")
        self.terminal_idx = np.flatnonzero(np.array(self.kind_name) == "terminal")
        self.reservoir_idx = np.flatnonzero(self.kind == RESERVOIR)
        self.inflow_annual = self.inflow_annual_all[self.inflow_idx]
        self.offtake_demand_annual = self.demand_annual[self.offtake_idx]
        self.offtake_return_to = self.return_to[self.offtake_idx]
        self.offtake_return_fraction = self.return_fraction[self.offtake_idx]
        self.offtake_conveyance_loss = self.conveyance_loss[self.offtake_idx]
        self.offtake_capacity = np.where(np.isnan(self.capacity[self.offtake_idx]), np.inf, self.capacity[self.offtake_idx])
        self.reservoir_capacity = self.capacity[self.reservoir_idx]
        self.reservoir_dead = self.dead_storage[self.reservoir_idx]

    @property
    def n(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def storage_bounds(self) -> dict[str, tuple[float, float]]:
        """{reservoir: (dead storage, capacity)} in hm3 for every reservoir of the basin, switched on or off."""
        return {n: (float(self.dead_storage[i]), float(self.capacity[i]))
                for i, (n, k) in enumerate(zip(self.names, self.kind_name)) if k == "reservoir"}


def layout_from_json(text: str) -> SavedNetwork:
    """Read a :func:`layout_json` text; ValueError naming the field when it is not a layout."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("layout_version") != LAYOUT_VERSION:
        raise ValueError(f"layout_version {doc.get('layout_version') if isinstance(doc, dict) else None!r}, expected {LAYOUT_VERSION}")
    n = len(doc["names"])

    def arr(key, dtype=float):
        values = doc[key]
        if len(values) != n:
            raise ValueError(f"{key} has {len(values)} entries for {n} nodes")
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)

    down, ret = arr("downstream", int), arr("return_to", int)
    if ((down < -1) | (down >= n)).any() or ((ret < -1) | (ret >= n)).any():
        raise ValueError("downstream or return_to names a node index outside the layout")
    return SavedNetwork(
        names=[str(x) for x in doc["names"]], kind_name=[str(x) for x in doc["kind"]], active=arr("active", int),
        state=[str(x) for x in doc["state"]], province=[str(x) for x in doc["province"]], downstream=down,
        loss_fraction=arr("loss_fraction"), min_flow=arr("min_flow_hm3_per_day"), capacity=arr("capacity"),
        dead_storage=arr("dead_storage_hm3"), return_to=ret, return_fraction=arr("return_fraction"),
        conveyance_loss=arr("conveyance_loss"), demand_annual=arr("demand_annual_hm3"), inflow_annual_all=arr("inflow_annual_hm3"),
        hydropower={str(k): {str(f): float(v) for f, v in plant.items()} for k, plant in doc.get("hydropower", {}).items()},
        energy_demand_gwh={str(k): [float(v) for v in months] for k, months in doc.get("energy_demand_gwh", {}).items()},
    )


def set_layouts_json(base: str, layouts: dict[int, str]) -> str:
    """Per parameter set, the fields of its layout (a :func:`layout_json` text) that differ from `base`'s: a JSON
    text {set number: {field: values}} (the results' ``parameter_set_networks_json`` attribute)."""
    doc = json.loads(base)
    out = {}
    for number, text in layouts.items():
        other = json.loads(text)
        out[str(int(number))] = {k: v for k, v in other.items() if doc.get(k) != v}
    return json.dumps(out, sort_keys=True)


def set_layout(base: str, patches: str, number: int) -> SavedNetwork:
    """The layout of parameter set `number`: `base` with that set's fields from :func:`set_layouts_json`."""
    doc = json.loads(base)
    doc.update(json.loads(patches).get(str(int(number)), {}))
    return layout_from_json(json.dumps(doc))

