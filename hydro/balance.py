"""Mass balance of a run, recomputed from its outputs, per node and month, and for the whole basin.

Per node i and month t (hm3):

    natural_inflow + inflow = flow + withdrawal + evaporation + (storage[t] - storage[t-1])

with a terminal's ``flow`` being zero (it keeps what reaches it). Per reach leaving node i:
``reach_loss = loss_fraction * flow`` and the water arriving downstream is the rest; ``inflow`` at each node must
equal what its reaches deliver plus the return flows sent to it. Each month, for the whole basin:

    sum(natural_inflow) = sum(terminal inflow) + sum(withdrawal - return_flow) + sum(reach_loss)
                          + sum(evaporation) + sum(storage change)

Water can only be stored, evaporated or spilled at an active reservoir and withdrawn at an offtake; nothing
leaves a terminal; nothing is negative, NaN or infinite. The simulator calls :meth:`MonthBalance.check_month`
after every month; :func:`check` applies the same test to a finished run's arrays.
"""

from __future__ import annotations

import numpy as np

from hydro.errors import MassBalanceError
from hydro.network import OFFTAKE, RESERVOIR, TERMINAL, Network
from hydro.variables import ROUTED

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_FLOOR = 1e-9  # hm3: residuals below this count as zero on a node that carries no water


class MonthBalance:
    """Checks one month at a time on node-major arrays (nodes, members) and keeps the largest residuals."""

    def __init__(self, network: Network, members: int, rtol: float = RELATIVE_TOLERANCE):
        self.network, self.rtol = network, rtol
        # routing as matrices: expected inflow = reach @ (flow - loss) + returns @ return_flow
        N = network.n
        self.reach = np.zeros((N, N))
        for i, j in enumerate(network.downstream):
            if j >= 0:
                self.reach[j, i] = 1.0
        self.returns = np.zeros((N, N))
        for k, i in enumerate(network.offtake_idx):
            if network.offtake_return_to[k] >= 0:
                self.returns[network.offtake_return_to[k], i] = 1.0
        self.res = network.reservoir_idx
        self.terminal = network.kind == TERMINAL
        self.must_be_zero = {
            "flow": network.kind == TERMINAL,
            "storage": network.kind != RESERVOIR,
            "evaporation": network.kind != RESERVOIR,
            "spill": network.kind != RESERVOIR,
            "withdrawal": network.kind != OFFTAKE,
        }
        self.worst_abs = 0.0
        self.worst_rel = 0.0
        self.worst_basin = 0.0

    def check_month(self, t: int, month: dict[str, np.ndarray], storage_start: np.ndarray) -> None:
        """Raise :class:`MassBalanceError` naming the node, month and member if month `t` does not add up.

        month: (nodes, members) arrays of natural_inflow, inflow, flow, withdrawal, return_flow, reach_loss,
        evaporation, storage (end of month) and spill; storage_start: (reservoirs, members)."""
        self.check_block(t, {v: a[None] for v, a in month.items()}, storage_start[None])

    def check_block(self, t0: int, block: dict[str, np.ndarray], storage_start: np.ndarray) -> None:
        """The same check on consecutive months at once: arrays (months, nodes, members) from month `t0` on;
        storage_start (months, reservoirs, members)."""
        net = self.network
        month = block
        nat, inflow, flow = month["natural_inflow"], month["inflow"], month["flow"]
        withdrawal, evap, storage = month["withdrawal"], month["evaporation"], month["storage"]
        loss, back = month["reach_loss"], month["return_flow"]
        names = ("flow", "withdrawal", "storage", "inflow", "reach_loss", "evaporation", "spill")
        if not np.isfinite(sum(month[name] for name in names)).all():  # one NaN or inf anywhere spoils the sum
            for name in names:
                a = month[name]
                if not np.all(np.isfinite(a)):
                    b, i, m = np.unravel_index(np.argmax(~np.isfinite(a)), a.shape)
                    raise MassBalanceError(f"{name} holds NaN or infinite values at node {net.names[i]!r}, month {t0 + b}, member {m}")
        for name in names:
            a = month[name]
            if a.min(initial=0.0) < -ABSOLUTE_FLOOR:
                b, i, m = np.unravel_index(np.argmin(a), a.shape)
                raise MassBalanceError(f"{name} is negative ({a[b, i, m]:.6g} hm3) at node {net.names[i]!r}, month {t0 + b}, member {m}")
        for name, where in self.must_be_zero.items():
            values = month[name][:, where]
            if values.size and np.abs(values).max() > ABSOLUTE_FLOOR:
                b, k, m = np.unravel_index(np.argmax(np.abs(values)), values.shape)
                node = net.names[np.flatnonzero(where)[k]]
                raise MassBalanceError(f"{name} is {values[b, k, m]:.6g} hm3 at node {node!r} (kind {net.kind_name[net.index(node)]}), month {t0 + b}, member {m}: it must be zero there")

        d_storage = np.zeros_like(storage)
        d_storage[:, self.res] = storage[:, self.res] - storage_start
        node_res = nat + inflow - flow - withdrawal - evap - d_storage
        node_res[:, self.terminal] = 0.0  # a terminal keeps everything: checked through routing below
        route_res = inflow - self.reach @ (flow - loss) - self.returns @ back
        reach_res = loss - flow * net.loss_fraction[:, None]
        ret_res = np.zeros_like(back)
        off = net.offtake_idx
        ret_res[:, off] = back[:, off] - withdrawal[:, off] * net.offtake_return_fraction[:, None]

        scale = np.maximum(nat + inflow, np.abs(flow))
        for label, res in (("node balance", node_res), ("routing", route_res), ("reach loss", reach_res), ("return flow", ret_res)):
            size = np.abs(res)
            bad = size > self.rtol * scale + ABSOLUTE_FLOOR
            if bad.any():
                b, i, m = np.unravel_index(np.argmax(np.where(bad, size, -1)), res.shape)
                raise MassBalanceError(
                    f"{label} does not close at node {net.names[i]!r}, month {t0 + b}, member {m}: residual {res[b, i, m]:.6g} hm3 "
                    f"(natural {nat[b, i, m]:.6g} + inflow {inflow[b, i, m]:.6g} vs flow {flow[b, i, m]:.6g} + withdrawal "
                    f"{withdrawal[b, i, m]:.6g} + evaporation {evap[b, i, m]:.6g} + storage change {d_storage[b, i, m]:.6g})"
                )
            self.worst_abs = max(self.worst_abs, float(size.max(initial=0.0)))
            self.worst_rel = max(self.worst_rel, float((size / np.maximum(scale, ABSOLUTE_FLOOR)).max(initial=0.0)))

        total_in = nat.sum(axis=1)
        total_out = (inflow[:, self.terminal].sum(axis=1) + (withdrawal - back).sum(axis=1) + loss.sum(axis=1)
                     + evap.sum(axis=1) + d_storage.sum(axis=1))
        basin = np.abs(total_in - total_out) / np.maximum(total_in + np.abs(d_storage).sum(axis=1), 1.0)
        if basin.max(initial=0.0) > self.rtol:
            b, m = np.unravel_index(int(np.argmax(basin)), basin.shape)
            raise MassBalanceError(f"the basin does not close in month {t0 + b} for member {m}: residual {total_in[b, m] - total_out[b, m]:.6g} hm3 of {total_in[b, m]:.6g} hm3 natural inflow")
        self.worst_basin = max(self.worst_basin, float(basin.max(initial=0.0)))

    def summary(self) -> dict[str, float]:
        """The largest residuals seen: absolute (hm3), relative to the node's throughput, and of the basin."""
        return {"max_abs_hm3": self.worst_abs, "max_rel": self.worst_rel, "basin_rel": self.worst_basin}


def check(arrays: dict[str, np.ndarray], network: Network, rtol: float = RELATIVE_TOLERANCE) -> dict[str, float]:
    """Check a finished run's arrays (members, time, node) month by month; raise :class:`MassBalanceError` naming
    the node and month of the first failure, else return the largest residuals found."""
    members, T, N = arrays["flow"].shape
    balance = MonthBalance(network, members, rtol)
    names = ROUTED
    res = network.reservoir_idx
    step = max(1, int(2_000_000 // max(N * members, 1)))  # months per block: a few million cells at a time
    for t0 in range(0, T, step):
        t1 = min(T, t0 + step)
        block = {v: np.moveaxis(arrays[v][:, t0:t1, :], 0, 2) for v in names}  # (months, nodes, members)
        start = np.concatenate([arrays["initial_storage"][None, :, res] if t0 == 0 else arrays["storage"][:, t0 - 1:t0, res].transpose(1, 0, 2),
                                arrays["storage"][:, t0:t1 - 1, res].transpose(1, 0, 2)], axis=0)  # (months, members, reservoirs)
        balance.check_block(t0, block, np.moveaxis(start, 1, 2))
    return balance.summary()
