"""Mass balance of a run, recomputed from its outputs, per node and month, and for the whole basin.

Per node i and month t (hm3):

    natural_inflow + inflow = flow + withdrawal + evaporation + (storage[t] - storage[t-1])

with a terminal's ``flow`` being zero (it keeps what reaches it). Per reach leaving node i:
``reach_loss = loss_fraction * flow`` and the water arriving downstream is the rest; ``inflow`` at each node must
equal what its reaches deliver plus the return flows sent to it. Whole basin over the run:

    sum(natural_inflow) = sum(terminal inflow) + sum(withdrawal - return_flow) + sum(reach_loss)
                          + sum(evaporation) + (final - initial storage)
"""

from __future__ import annotations

import numpy as np

from hydro.errors import MassBalanceError
from hydro.network import OFFTAKE, RESERVOIR, TERMINAL, Network

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_FLOOR = 1e-9  # hm3: residuals below this count as zero on a node that carries no water


def check(arrays: dict[str, np.ndarray], network: Network, rtol: float = RELATIVE_TOLERANCE) -> dict[str, float]:
    """Raise :class:`MassBalanceError` naming the worst node and month if any balance fails; else return the
    largest residuals found: ``max_abs_hm3`` and ``max_rel`` (residual / throughput)."""
    nat, inflow, flow = arrays["natural_inflow"], arrays["inflow"], arrays["flow"]
    withdrawal, evap, storage = arrays["withdrawal"], arrays["evaporation"], arrays["storage"]
    loss, back = arrays["reach_loss"], arrays["return_flow"]
    initial = arrays["initial_storage"]
    members, T, N = flow.shape

    previous = np.concatenate([initial[:, None, :], storage[:, :-1, :]], axis=1)
    d_storage = storage - previous
    throughput = nat + inflow
    node_res = nat + inflow - flow - withdrawal - evap - d_storage
    node_res[:, :, network.kind == TERMINAL] = 0.0  # a terminal keeps everything: checked through routing below

    # routing: what each node should have received from its reaches and from return flows
    expected = np.zeros_like(inflow)
    for i in range(N):
        j = network.downstream[i]
        if j >= 0:
            expected[:, :, j] += flow[:, :, i] - loss[:, :, i]
    for k, i in enumerate(network.offtake_idx):
        target = network.offtake_return_to[k]
        if target >= 0:
            expected[:, :, target] += back[:, :, i]
    route_res = inflow - expected
    reach_res = loss - flow * network.loss_fraction[None, None, :]
    ret_res = np.zeros_like(back)
    ret_res[:, :, network.offtake_idx] = back[:, :, network.offtake_idx] - withdrawal[:, :, network.offtake_idx] * network.offtake_return_fraction

    scale = np.maximum(throughput, np.abs(flow))
    worst_abs, worst_rel = 0.0, 0.0
    for label, res in (("node balance", node_res), ("routing", route_res), ("reach loss", reach_res), ("return flow", ret_res)):
        bad = np.abs(res) > rtol * scale + ABSOLUTE_FLOOR
        if bad.any():
            m, t, i = np.unravel_index(np.argmax(np.where(bad, np.abs(res), -1)), res.shape)
            raise MassBalanceError(
                f"{label} does not close at node {network.names[i]!r}, month {t}, member {m}: residual {res[m, t, i]:.6g} hm3 "
                f"(natural {nat[m, t, i]:.6g} + inflow {inflow[m, t, i]:.6g} vs flow {flow[m, t, i]:.6g} + withdrawal "
                f"{withdrawal[m, t, i]:.6g} + evaporation {evap[m, t, i]:.6g} + storage change {d_storage[m, t, i]:.6g})"
            )
        worst_abs = max(worst_abs, float(np.abs(res).max(initial=0.0)))
        worst_rel = max(worst_rel, float((np.abs(res) / np.maximum(scale, ABSOLUTE_FLOOR)).max(initial=0.0)))

    # water can only be held, evaporated or spilled at an active reservoir, taken at an offtake, and nothing leaves a terminal
    must_be_zero = {
        "flow": network.kind == TERMINAL,
        "storage": network.kind != RESERVOIR,
        "evaporation": network.kind != RESERVOIR,
        "spill": network.kind != RESERVOIR,
        "withdrawal": network.kind != OFFTAKE,
    }
    for name, where in must_be_zero.items():
        values = arrays[name][:, :, where]
        if np.any(np.abs(values) > ABSOLUTE_FLOOR):
            m, t, k = np.unravel_index(np.argmax(np.abs(values)), values.shape)
            node = network.names[np.flatnonzero(where)[k]]
            raise MassBalanceError(f"{name} is {values[m, t, k]:.6g} hm3 at node {node!r} (kind {network.kind_name[network.index(node)]}), month {t}, member {m}: it must be zero there")

    for name in ("flow", "withdrawal", "storage", "inflow", "reach_loss", "evaporation"):
        if not np.all(np.isfinite(arrays[name])):
            raise MassBalanceError(f"{name} holds NaN or infinite values")
        if (arrays[name] < -ABSOLUTE_FLOOR).any():
            m, t, i = np.unravel_index(np.argmin(arrays[name]), arrays[name].shape)
            raise MassBalanceError(f"{name} is negative ({arrays[name][m, t, i]:.6g} hm3) at node {network.names[i]!r}, month {t}, member {m}")

    terminals = network.kind == TERMINAL
    total_in = nat.sum(axis=(1, 2))
    total_out = (
        inflow[:, :, terminals].sum(axis=(1, 2))
        + (withdrawal - back).sum(axis=(1, 2))
        + loss.sum(axis=(1, 2))
        + evap.sum(axis=(1, 2))
        + (storage[:, -1, :] - initial).sum(axis=1)
    )
    basin_res = total_in - total_out
    if np.any(np.abs(basin_res) > rtol * np.maximum(total_in, 1.0)):
        m = int(np.argmax(np.abs(basin_res)))
        raise MassBalanceError(f"the basin does not close over the run for member {m}: residual {basin_res[m]:.6g} hm3 of {total_in[m]:.6g} hm3 natural inflow")
    return {
        "max_abs_hm3": worst_abs,
        "max_rel": worst_rel,
        "basin_rel": float(np.max(np.abs(basin_res) / np.maximum(total_in, 1.0))),
    }
