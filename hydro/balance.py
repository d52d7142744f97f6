"""Mass balance of a run, recomputed from its outputs, per node and month, and for the whole basin.

Per node i and month t (hm3):

    natural_inflow + inflow = flow + withdrawal + evaporation + (storage[t] - storage[t-1])

with a terminal's ``flow`` being zero (it keeps what reaches it). Per reach leaving node i:
``reach_loss = loss_fraction * flow`` and the water arriving downstream is the rest; ``inflow`` at each node must
equal what its reaches deliver plus the return flows sent to it. Each month, for the whole basin:

    sum(natural_inflow) = sum(terminal inflow) + sum(withdrawal - return_flow) + sum(reach_loss)
                          + sum(evaporation) + sum(storage change)

Water can only be stored, evaporated or spilled at an active reservoir and withdrawn at an offtake; nothing
leaves a terminal; nothing is negative, NaN or infinite. The test is compiled (:func:`hydro.kernel._check_month`):
the simulator applies it after every month of every member, and :func:`check` to a finished run's arrays.
"""

from __future__ import annotations

import numpy as np

from hydro.errors import MassBalanceError
from hydro.network import routing_arrays
from hydro.variables import ROUTED

RELATIVE_TOLERANCE = 1e-6

# what a failed check found, by the code hydro.kernel writes
LABELS = {4: "node balance", 5: "routing", 6: "reach loss", 7: "return flow"}


def worst_of(worst: np.ndarray) -> dict[str, float]:
    """The largest residuals seen over members (worst: (members, 3)): absolute (hm3), relative to the node's
    throughput, and of the basin."""
    top = worst.max(axis=0) if len(worst) else np.zeros(3)
    return {"max_abs_hm3": float(top[0]), "max_rel": float(top[1]), "basin_rel": float(top[2])}


def raise_failure(fail: np.ndarray, network, member_ids=None) -> None:
    """Raise :class:`MassBalanceError` for the earliest failed month in `fail` (members, FAIL_FIELDS of
    :mod:`hydro.kernel`; code 0 = passed), naming the node, month and member (its number in `member_ids` if given)."""
    from hydro.kernel import ROWS

    failed = np.flatnonzero(fail[:, 0] > 0)  # ascending: argmin picks the lowest member of the earliest month
    if not len(failed):
        return
    m = int(failed[np.argmin(fail[failed, 1])])
    code, t, i, row, value, nat, inflow, flow, withdrawal, evap, d_storage = fail[m]
    m = int(member_ids[m]) if member_ids is not None else m
    code, t, i = int(code), int(t), int(i)
    name = ROUTED[int(row)] if code in (1, 2, 3) else ""
    assert ROUTED == ROWS, "hydro.kernel's rows must follow hydro.variables.ROUTED"
    node = network.names[i] if i >= 0 else ""
    if code == 1:
        raise MassBalanceError(f"{name} holds NaN or infinite values at node {node!r}, month {t}, member {m}")
    if code == 2:
        raise MassBalanceError(f"{name} is negative ({value:.6g} hm3) at node {node!r}, month {t}, member {m}")
    if code == 3:
        raise MassBalanceError(f"{name} is {value:.6g} hm3 at node {node!r} (kind {network.kind_name[i]}), month {t}, member {m}: "
                               "it must be zero there")
    if code in LABELS:
        raise MassBalanceError(
            f"{LABELS[code]} does not close at node {node!r}, month {t}, member {m}: residual {value:.6g} hm3 "
            f"(natural {nat:.6g} + inflow {inflow:.6g} vs flow {flow:.6g} + withdrawal {withdrawal:.6g} + evaporation "
            f"{evap:.6g} + storage change {d_storage:.6g})")
    raise MassBalanceError(f"the basin does not close in month {t} for member {m}: residual {value:.6g} hm3 of {nat:.6g} hm3 natural inflow")


def check(arrays: dict[str, np.ndarray], network, rtol: float = RELATIVE_TOLERANCE, member_ids=None) -> dict[str, float]:
    """Check a finished run's arrays (members, time, node) month by month with the simulator's own check
    (:func:`hydro.kernel.check_arrays`); raise :class:`MassBalanceError` naming the node and month of the first
    failure, else return the largest residuals found. `network`: a Network or a saved layout."""
    from hydro import kernel

    stack = tuple(np.ascontiguousarray(arrays[v], dtype=float) for v in ROUTED)
    members = stack[0].shape[0]
    initial = np.ascontiguousarray(np.asarray(arrays["initial_storage"], dtype=float)[:, network.reservoir_idx])
    worst = np.zeros((members, 3))
    fail = np.zeros((members, len(kernel.FAIL_FIELDS)))
    kernel.check_arrays(routing_arrays(network), stack, initial, worst, fail, rtol)
    raise_failure(fail, network, member_ids)
    return worst_of(worst)
