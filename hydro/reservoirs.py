"""Reservoir operation: each month's target storage, its bounds, and the policy that sets the release.

A run file chooses, per reservoir (``[reservoirs.<name>]``), an operating **policy**:

- ``curve`` (default): the basin's month-end target-storage curve, as operated today (Nurek: 62 % of the release
  in April-September, fitted to the SIC-ICWC yearbooks). ``regulation = w`` blends the curve with a reservoir held
  full: target = w x curve + (1 - w) x full (w = 0: the river passes as it comes).
- ``energy``: the plant first generates the month's share of the basin's energy demand table for it (GWh per
  month, the node's ``energy_demand``); the curve applies to what is left. ``energy_weight = a`` (0 to 1) asks
  a x that demand: 0 is the curve, 1 energy first, between them the compromise a user traces the trade-off on.
- ``schedule``: the reservoir releases a fixed volume each calendar month (the node's ``schedule`` table, km3),
  as ICWC approves a cascade's seasonal regime; storage takes up the difference.

**Filling** (``[reservoirs.<name>.filling]``): a reservoir being filled holds, at each month end, at most the
volume its dam stage has reached, V(t) = initial + (stage - initial) x min(months since start / (12 x years), 1);
its dead storage grows in proportion (dead / capacity of V(t)), and the policy works between the two. ``years``
sets the pace, or ``limit_share = s`` does: the reservoir's state fills at s x its annual limit (the sum of its
offtakes' demand) and its offtakes ask (1 - s) x their demand while it fills, so the filling counts against the
state's ICWC limit.

Each month, for storage S (hm3) at the start and water arriving I (arithmetic compiled in
:func:`hydro.kernel._operate`):

1. evaporation E = e_annual x days / 365.25 x S / capacity, at most S + I;
2. the policy release R: max(S + I - E - target, 0) (curve, energy), or the month's scheduled volume (schedule);
3. with ``demand_support``, at least what the offtakes and the terminal requirement below it ask this month
   (grossed up for reach losses); with an energy demand, at least the volume that generates a x the month's
   demand at the month's head (hydro.energy's level relation; three fixed-point passes on the mean storage),
   never more than the turbines take;
4. at least the protected ``min_flow`` below the dam, never below the month's dead storage, never above
   ``max_release``;
5. what would end above the month's volume V(t) (the capacity when not filling) spills.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from hydro.timeaxis import TimeAxis, parse_month

POLICIES = {
    "curve": "the basin's target-storage curve (as operated)",
    "energy": "the plant's monthly energy demand first, then the curve",
    "schedule": "a fixed release per calendar month (the node's schedule)",
}
OPTIONS = ("enabled", "regulation", "policy", "energy_weight", "filling")
FILLING_KEYS = ("years", "start", "initial_km3", "stage_km3", "limit_share")
OVERRIDE_KEYS = ("enabled", "regulation", "policy", "energy_weight", *(f"filling.{k}" for k in FILLING_KEYS))  # --set reservoirs.<name>.<key>


@dataclass(frozen=True)
class Filling:
    """A reservoir's filling: from `start` (first month) it rises from `initial_hm3` to `stage_hm3` over `years`;
    `limit_share` (0 = none) is the share of its state's annual limit the filling takes."""

    start: np.datetime64
    years: float
    initial_hm3: float
    stage_hm3: float
    limit_share: float = 0.0

    def volume(self, month_ends: np.ndarray) -> np.ndarray:
        """Volume the dam stage holds at each month end (datetime64[M] of the month after), hm3."""
        elapsed = (np.asarray(month_ends, dtype="datetime64[M]") - self.start).astype(float)
        share = np.clip(elapsed / (12.0 * self.years), 0.0, 1.0)
        return self.initial_hm3 + (self.stage_hm3 - self.initial_hm3) * share

    def filling(self, month_starts: np.ndarray) -> np.ndarray:
        """(T,) True in the months the reservoir is filling (from start to the month the stage is reached)."""
        m = np.asarray(month_starts, dtype="datetime64[M]")
        return (m >= self.start) & (self.volume(m + 1) - self.volume(m) > 0)


def check_options(name: str, table, node, basin, default_start, problems) -> dict | None:
    """Validate `[reservoirs.<name>]` of a run file against the basin node; returns the options (policy, regulation,
    energy_weight, filling as a dict in km3 and years) or None after adding the problems."""
    where = f"reservoirs.{name}"
    if not isinstance(table, dict) or not table or set(table) - set(OPTIONS):
        problems.add(where, table, "a table { enabled = true | false, regulation = 0..1, policy = " + " | ".join(POLICIES)
                     + ", energy_weight = 0..1, filling = { ... } }")
        return None
    ok = True
    if not isinstance(table.get("enabled", True), bool):
        problems.add(f"{where}.enabled", table["enabled"], "true or false")
        ok = False
    out: dict = {}
    if "regulation" in table:
        w = table["regulation"]
        if not (_number(w) and 0 <= w <= 1):
            problems.add(f"{where}.regulation", w, "a weight from 0 (held full: the river passes as it comes) to 1 (the basin's target curve, as operated)")
            ok = False
        else:
            out["regulation"] = float(w)
    policy = table.get("policy", "curve")
    if policy not in POLICIES:
        problems.add(f"{where}.policy", policy, "one of " + ", ".join(f"{k!r} ({v})" for k, v in POLICIES.items()))
        return None
    out["policy"] = policy
    if policy == "energy" and not node.settings.get("energy_demand"):
        problems.add(f"{where}.policy", policy, f"a policy the basin supports: node {name!r} names no energy_demand table")
        ok = False
    if policy == "energy" and not all(k in node.figures for k in ("normal_level", "plant_capacity")):
        problems.add(f"{where}.policy", policy, f"a policy the basin supports: node {name!r} has no power plant figures")
        ok = False
    if policy == "schedule" and not node.settings.get("schedule"):
        problems.add(f"{where}.policy", policy, f"a policy the basin supports: node {name!r} names no schedule table")
        ok = False
    if "energy_weight" in table:
        a = table["energy_weight"]
        if policy != "energy":
            problems.add(f"{where}.energy_weight", a, "energy_weight only with policy = \"energy\"")
            ok = False
        elif not (_number(a) and 0 <= a <= 1):
            problems.add(f"{where}.energy_weight", a, "a share of the energy demand met first, from 0 (the curve) to 1 (energy first)")
            ok = False
        else:
            out["energy_weight"] = float(a)
    if "filling" in table:
        filling = _check_filling(where, table["filling"], node, default_start, problems)
        ok = ok and filling is not None
        out["filling"] = filling
    return out if ok else None


def _check_filling(where: str, f, node, default_start, problems) -> dict | None:
    """The `filling` table: years or limit_share (one of them), start, initial_km3, stage_km3."""
    where = f"{where}.filling"
    if not isinstance(f, dict) or set(f) - set(FILLING_KEYS):
        problems.add(where, f, "a table { years = 1..100 | limit_share = 0..1, start = \"YYYY-MM\", initial_km3 = >= 0, stage_km3 = up to the capacity }")
        return None
    capacity_km3 = node.figure("capacity") / 1000.0
    ok = True
    shared = "limit_share" in f and f["limit_share"] != 0  # limit_share = 0: none (so --set can swap it for years)
    if ("years" in f) == shared:
        problems.add(where, f, "either years (the pace) or limit_share (the share of the state's limit used, 0 for none), not both nor neither")
        return None
    checks = {
        "years": (lambda v: _number(v) and 0 < v <= 100, "years to fill, above 0 and at most 100"),
        "limit_share": (lambda v: _number(v) and 0 <= v <= 1, "the share of the state's annual limit used to fill, 0 (none) to 1"),
        "initial_km3": (lambda v: _number(v) and 0 <= v <= capacity_km3, f"the storage when filling starts, 0 to the capacity {capacity_km3:g} km3"),
        "stage_km3": (lambda v: _number(v) and 0 < v <= capacity_km3, f"the volume the dam stage holds when filled, above 0 and at most the capacity {capacity_km3:g} km3"),
    }
    out = {}
    for key, (test, expected) in checks.items():
        if key in f:
            if not test(f[key]):
                problems.add(f"{where}.{key}", f[key], expected)
                ok = False
            else:
                out[key] = float(f[key])
    out.setdefault("initial_km3", 0.0)
    out.setdefault("stage_km3", capacity_km3)
    if ok and out["stage_km3"] <= out["initial_km3"]:
        problems.add(f"{where}.stage_km3", out["stage_km3"], f"more than initial_km3 ({out['initial_km3']:g} km3): a filling rises")
        ok = False
    start = f.get("start", default_start)
    try:
        out["start"] = str(parse_month(start))
    except (ValueError, TypeError):
        problems.add(f"{where}.start", start, "a month as \"YYYY-MM\"")
        ok = False
    return out if ok else None


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def filling_of(options: dict, state_limit_hm3: float) -> Filling | None:
    """The :class:`Filling` of a reservoir's validated options (years from limit_share x the state's limit)."""
    f = options.get("filling")
    if not f:
        return None
    initial, stage = f["initial_km3"] * 1000.0, f["stage_km3"] * 1000.0
    share = f.get("limit_share", 0.0)
    if share > 0:
        years = (stage - initial) / (share * state_limit_hm3) if state_limit_hm3 > 0 else np.inf
    else:
        years = f["years"]
    return Filling(start=np.datetime64(f["start"], "M"), years=float(years), initial_hm3=initial, stage_hm3=stage, limit_share=share)


Operation = namedtuple("Operation", [
    "target", "floor", "ceiling",  # (T, R) month-end target, dead storage and volume held (spill above), hm3
    "schedule",  # (T, R) scheduled release, hm3; NaN where the policy is not a schedule
    "energy",  # (T, R) energy the plant generates first, GWh; 0 where none
    "has_plant", "dead_level", "normal_level", "tailwater", "efficiency", "turbine", "full_dead", "full_cap",  # (R,) plant
])
Operation.__doc__ = "A run's reservoir operation as plain arrays for the compiled loop (hydro.kernel)."


def _bounds(network, month_ends: np.ndarray):
    """(T, R) dead storage and volume held at each month end: the basin's, or the filling's stage."""
    T, R = len(month_ends), len(network.reservoir_idx)
    cap = np.broadcast_to(network.reservoir_capacity, (T, R)).copy()
    dead = np.broadcast_to(network.reservoir_dead, (T, R)).copy()
    for r, filling in enumerate(network.reservoir_filling):
        if filling is not None:
            vol = filling.volume(month_ends)
            share = network.reservoir_dead[r] / network.reservoir_capacity[r] if network.reservoir_capacity[r] > 0 else 0.0
            cap[:, r] = vol
            dead[:, r] = vol * share
    return dead, cap


def _on_curve(network, months: np.ndarray, floor: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """(T, R) month-end storage each curve asks for in calendar `months` (0 = January) between floor and ceiling, hm3."""
    return floor + network.reservoir_curve[:, months].T * (ceiling - floor)


def operation(network, axis: TimeAxis) -> Operation:
    """The arrays :func:`hydro.kernel.run` operates the reservoirs by over `axis`."""
    T, R = axis.months, len(network.reservoir_idx)
    months = axis.calendar_month
    floor, ceiling = _bounds(network, axis.month_starts + 1)
    target = _on_curve(network, months, floor, ceiling)
    schedule = np.full((T, R), np.nan)
    energy = np.zeros((T, R))
    plant = {k: np.zeros(R) for k in ("has_plant", "dead_level", "normal_level", "tailwater", "efficiency", "turbine")}
    for r, i in enumerate(network.reservoir_idx):
        opts = network.reservoir_options[r]
        if opts.get("policy") == "schedule":
            schedule[:, r] = network.reservoir_schedule[r][months]
        if opts.get("policy") == "energy":
            energy[:, r] = opts.get("energy_weight", 1.0) * network.reservoir_energy_demand[r][months]
        p = network.hydropower.get(network.names[i])
        if p:
            plant["has_plant"][r] = 1.0
            plant["dead_level"][r], plant["normal_level"][r] = p["dead_level"], p["normal_level"]
            plant["tailwater"][r], plant["efficiency"][r], plant["turbine"][r] = p["tailwater_level"], p["efficiency"], p["turbine_discharge"]

    def c(a):
        return np.ascontiguousarray(a, dtype=float)

    return Operation(target=c(target), floor=c(floor), ceiling=c(ceiling), schedule=c(schedule), energy=c(energy),
                     **{k: c(v) for k, v in plant.items()}, full_dead=c(network.reservoir_dead), full_cap=c(network.reservoir_capacity))


def initial_storage(network, axis: TimeAxis) -> np.ndarray:
    """(R,) storage at the start of the run: the basin's initial_storage, else the target at the previous month end
    (a filling reservoir: on its curve at the volume it then holds)."""
    before = np.array([axis.start], dtype="datetime64[M]")
    floor, ceiling = _bounds(network, before)
    month = (int(axis.calendar_month[0]) - 1) % 12
    on_curve = _on_curve(network, np.array([month]), floor, ceiling)[0]
    filling = np.array([f is not None for f in network.reservoir_filling], dtype=bool)
    return np.where(np.isnan(network.reservoir_initial) | filling, on_curve, network.reservoir_initial)


def demand_factor(network, axis: TimeAxis) -> np.ndarray:
    """(T, K) factor on each offtake's demand: 1 - limit_share where the offtake's state fills a reservoir from its
    limit in that month, else 1."""
    factor = np.ones((axis.months, len(network.offtake_idx)))
    for r, filling in enumerate(network.reservoir_filling):
        if filling is not None and filling.limit_share > 0:
            state = network.state[network.reservoir_idx[r]]
            mine = np.array([network.state[i] == state for i in network.offtake_idx], dtype=bool)
            active = filling.filling(axis.month_starts)
            factor[np.ix_(active, mine)] *= 1.0 - filling.limit_share
    return factor
