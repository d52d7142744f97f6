"""The compiled monthly loop (numba): routing, reservoirs, return flows, reach losses, the allocation rules'
monthly arithmetic and the mass-balance check, member by member, members in parallel on every core.

This is the package's one implementation of a month's routing. :mod:`hydro.simulate` prepares its inputs,
:mod:`hydro.allocation` turns a rule into data (``plan``: :class:`hydro.allocation.Plan`), the network's arrays
are :class:`hydro.network.Routing` (``net``), and :mod:`hydro.balance` words what the check finds.
Everything here is plain numbers in hm3 per month (rates in hm3/day); nodes are in topological order.

Order of work in month t for one member (as documented in :mod:`hydro.simulate`):

1. a new season (``plan.epoch`` changes) resets the state pools: ratio = min(1, cut L / D) and
   remaining = cut L D_season / D (:class:`hydro.allocation.SeasonalLimits`);
2. a rule that needs it (``proportional``) finds its common supply ratio by bisection on trial routings
   (:func:`_route` with ``trial=True``: nothing committed, pools untouched);
3. the month is routed upstream first (:func:`_route`): reservoirs (:func:`_operate`), offtakes
   (withdrawal = min(ceiling, water above the protected flow)), terminals keep what reaches them, every reach loses
   its loss fraction;
4. the month is checked (:func:`_check_month`): node balance, routing, reach losses, return flows and the
   basin's closure, NaN, negatives and values that must be zero.

Compiled once and cached on disk (``cache=True``, in ``hydro/__pycache__`` or numba's cache folder).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hydro.energy import J_PER_GWH, RHO_G  # the plant's arithmetic, as the energy figures read it

INFLOW, JUNCTION, RESERVOIR, OFFTAKE, TERMINAL = range(5)  # hydro.network's kind codes
# rows of a month buffer: the routed variables in the order of hydro.variables.ROUTED
NAT, INF, FLOW, WD, RET, LOSS, EVAP, STO, SPILL = range(9)
ROWS = ("natural_inflow", "inflow", "flow", "withdrawal", "return_flow", "reach_loss", "evaporation", "storage", "spill")

# what a failed check reports, one row per member (codes of FAILURES in hydro.balance)
FAIL_FIELDS = ("code", "month", "node", "row", "residual", "natural", "inflow", "flow", "withdrawal", "evaporation", "storage_change")
ABSOLUTE_FLOOR = 1e-9  # hm3: residuals below this count as zero on a node that carries no water

@njit(cache=True, inline="always")
def _cut(plan, e, m):
    return plan.cut[e, m] if plan.cut.shape[1] > 1 else plan.cut[e, 0]


@njit(cache=True, inline="always")
def _environment(plan, t, j, e, m):
    """Terminal j's requirement the rule protects this month, hm3."""
    v = plan.env[t, j]
    if plan.env_cut:
        v = v * _cut(plan, e, m)
    return v


@njit(cache=True)
def _kerki_allowances(net, plan, t, e, m, W, storage, req, x, room):
    """KerkiSplit: fill x with the allowed withdrawal of every offtake of the two states below the split point,
    from W (the flow at the split point now), the start-of-month storage below it and the requirement."""
    V = 0.0
    for q in range(plan.k_res.shape[0]):
        r = plan.k_res[q]
        V = V + max(storage[r] - net.dead[r], 0.0)
    E = _environment(plan, t, plan.k_term, e, m) * plan.k_term_gross
    D = max(W + V - E, 0.0)
    n = plan.k_off.shape[0]
    Q0 = 0.0
    Q1 = 0.0
    for q in range(n):
        v = req[plan.k_off[q]] * plan.k_gross[q]
        if plan.k_state[q] == 0:
            Q0 = Q0 + v
        else:
            Q1 = Q1 + v
    a0 = D * plan.k_shares[0]
    a1 = D * plan.k_shares[1]
    A0 = min(Q0, a0 + max(a1 - Q1, 0.0))
    A1 = min(Q1, a1 + max(a0 - Q0, 0.0))
    r0 = min(1.0, A0 / (Q0 if Q0 > 0 else 1.0))
    r1 = min(1.0, A1 / (Q1 if Q1 > 0 else 1.0))
    middle = False
    for q in range(n):
        x[q] = req[plan.k_off[q]] * (r0 if plan.k_state[q] == 0 else r1)
        middle = middle or plan.k_middle[q]
    if not middle:
        return
    need = 0.0
    for q in range(n):
        if plan.k_middle[q]:
            need = need + x[q] * plan.k_gross[q]
    f = min(1.0, W / (need if need > 0 else 1.0))
    for s in range(2):
        freed = 0.0
        total_room = 0.0
        for q in range(n):
            if plan.k_state[q] != s:
                continue
            if plan.k_middle[q]:
                freed = freed + (1 - f) * x[q] * plan.k_gross[q]
            else:
                room[q] = (req[plan.k_off[q]] - x[q]) * plan.k_gross[q]
                total_room = total_room + room[q]
        move = min(freed, total_room)
        for q in range(n):
            if plan.k_state[q] != s:
                continue
            if plan.k_middle[q]:
                x[q] = x[q] * f
            else:
                x[q] = x[q] + move * room[q] / (total_room if total_room > 0 else 1.0) / plan.k_gross[q]


@njit(cache=True, inline="always")
def _ceiling(net, plan, k, t, e, m, req, trial, r, ratio, pratio, remaining, buf, storage, x, room, kc):
    """The most offtake k may take now, hm3. A trial month gives the group request x r and everyone else their
    fixed ceiling; a real month applies the rule's share and then the state pool's limit."""
    if trial:
        return req[k] * r if plan.group[k] else plan.fixed[t, k]
    sk = plan.share_kind[k]
    if sk == 1:
        c = req[k] * ratio
    elif sk == 2:
        W = buf[FLOW, plan.kerki]  # zero until the split point has been routed this month
        if kc[0] == 0.0 or kc[1] != W:
            _kerki_allowances(net, plan, t, e, m, W, storage, req, x, room)
            kc[0] = 1.0
            kc[1] = W
        c = 0.0
        for q in range(plan.k_off.shape[0]):
            if plan.k_off[q] == k:
                c = x[q]
    else:
        c = plan.fixed[t, k]
    p = plan.pool[k]
    if p >= 0:
        c = min(c, min(req[k] * pratio[p], max(remaining[p], 0.0)))
    return c


@njit(cache=True, inline="always")
def _energy_release(op, r, t, avail, storage, days):
    """Volume (hm3) the plant of reservoir r turbines to generate op.energy[t, r] GWh this month, at the head of the
    month's mean storage (three fixed-point passes: the release lowers the level), at most the turbines' volume."""
    span = max(op.full_cap[r] - op.full_dead[r], 1e-9)
    turbines = op.turbine[r] * days
    release = 0.0
    for _ in range(3):
        mean = 0.5 * (storage + max(avail - release, 0.0))
        if mean >= op.full_dead[r]:  # hydro.energy.level_m
            level = op.dead_level[r] + (mean - op.full_dead[r]) / span * (op.normal_level[r] - op.dead_level[r])
        else:
            level = op.tailwater[r] + mean / max(op.full_dead[r], 1e-9) * (op.dead_level[r] - op.tailwater[r])
        head = level - op.tailwater[r]
        if head <= 1.0:  # below a metre of head the plant cannot meet a demand: it asks nothing
            return 0.0
        release = min(op.energy[t, r] * J_PER_GWH / (RHO_G * head * op.efficiency[r]) / 1e6, turbines)
    return release


@njit(cache=True, inline="always")
def _operate(net, op, r, t, storage, water, month, days, need, buf, i):
    """Reservoir r for month t (hydro.reservoirs: the policy's target or schedule, its bounds op.floor and
    op.ceiling): writes evaporation, spill and end storage into buf's column i; returns what leaves (release +
    spill), hm3."""
    cap = net.cap[r]
    floor = op.floor[t, r]
    rate = net.evap[r] * days / 365.25
    avail = storage + water
    evaporation = min(rate * storage / cap, avail) if cap > 0 else 0.0
    avail = avail - evaporation
    scheduled = op.schedule[t, r]
    if np.isnan(scheduled):
        release = max(avail - op.target[t, r], 0.0)
    else:
        release = scheduled
    if net.support[r]:
        release = max(release, need)
    if op.energy[t, r] > 0.0 and op.has_plant[r] > 0.0:
        release = max(release, _energy_release(op, r, t, avail, storage, days))
    release = max(release, net.min_flow[i] * days)
    release = min(release, max(avail - floor, 0.0))
    release = min(release, net.max_release[r] * days)
    new_storage = avail - release
    spill = max(new_storage - op.ceiling[t, r], 0.0)
    buf[EVAP, i] = evaporation
    buf[SPILL, i] = spill
    buf[STO, i] = new_storage - spill
    return release + spill


@njit(cache=True, inline="always")
def _route(net, plan, op, t, e, m, month, days, natural, req, requirement, storage, buf, arriving,
           trial, r, ratio, pratio, remaining, x, room, kc):
    """Route month t for member m upstream first into buf (rows ROWS, zeroed by the caller). A trial month
    (trial=True, group ratio r) stops at the first group offtake that cannot take r x its request and returns
    False; a real month draws on the pools and returns True."""
    N = net.kind.shape[0]
    for i in range(N):
        arriving[i] = 0.0
    for i in range(N):
        water = arriving[i]
        buf[INF, i] = water
        kd = net.kind[i]
        if kd == INFLOW:
            nat = natural[m, t, net.inflow_pos[i]]
            buf[NAT, i] = nat
            water = water + nat
        if kd == RESERVOIR:
            rr = net.res_pos[i]
            need = 0.0
            if net.support[rr]:
                for s in range(net.sup_ptr[rr], net.sup_ptr[rr + 1]):
                    j = net.sup_node[s]
                    if net.kind[j] == OFFTAKE:
                        c = _ceiling(net, plan, net.off_pos[j], t, e, m, req, trial, r, ratio, pratio, remaining, buf, storage, x, room, kc)
                        need = need + net.sup_w[s] * c
                    else:
                        need = need + net.sup_w[s] * requirement[t, net.term_pos[j]]
            leaving = _operate(net, op, rr, t, storage[rr], water, month, days, need, buf, i)
        elif kd == OFFTAKE:
            k = net.off_pos[i]
            protected = 0.0
            if plan.env_first:
                protected = _environment(plan, t, plan.env_term[k], e, m) * plan.env_gross[k]
            keep = net.min_flow[i] * days + protected
            available = max(water - keep, 0.0)
            c = _ceiling(net, plan, k, t, e, m, req, trial, r, ratio, pratio, remaining, buf, storage, x, room, kc)
            withdrawal = min(max(c, 0.0), available)
            if trial:
                if plan.group[k] and withdrawal < req[k] * r * (1 - 1e-12):  # relative only: no absolute slack
                    return False
            else:
                p = plan.pool[k]
                if p >= 0:
                    remaining[p] = remaining[p] - withdrawal
            buf[WD, i] = withdrawal
            rf = net.ret_frac[k]
            if rf != 0.0:
                back = withdrawal * rf
                buf[RET, i] = back
                arriving[net.ret_to[k]] += back
            leaving = water - withdrawal
        elif kd == TERMINAL:
            continue  # keeps what reaches it: flow stays 0
        else:
            leaving = water
        buf[FLOW, i] = leaving
        d = net.down[i]
        if d >= 0:
            if net.loss[i] != 0.0:
                lost = leaving * net.loss[i]
                buf[LOSS, i] = lost
                arriving[d] += leaving - lost
            else:
                arriving[d] += leaving
    return True


@njit(cache=True)
def _fail(row, code, t, i, var, residual):
    row[0] = code
    row[1] = t
    row[2] = i
    row[3] = var
    row[4] = residual


@njit(cache=True, inline="always")
def _delivered(net, buf, expected):
    """expected[i] = what the reaches (after their losses) and the return flows deliver to node i this month, hm3."""
    for i in range(net.kind.shape[0]):
        expected[i] = 0.0
    for i in range(net.kind.shape[0]):
        if net.down[i] >= 0:
            expected[net.down[i]] += buf[FLOW, i] - buf[LOSS, i]
    for k in range(net.off_node.shape[0]):
        if net.ret_to[k] >= 0:
            expected[net.ret_to[k]] += buf[RET, net.off_node[k]]


@njit(cache=True)
def _first_failure(net, buf, start, t, rtol, expected, worst, row):
    """:func:`_check_month` test by test in its canonical order (NaN, negatives, values that must be zero, node
    balance, routing, reach loss, return flow, basin), so that the first failure is the one reported."""
    N = net.kind.shape[0]
    checked = (FLOW, WD, STO, INF, LOSS, EVAP, SPILL)
    for v in checked:  # NaN or infinite
        for i in range(N):
            if not np.isfinite(buf[v, i]):
                _fail(row, 1, t, i, v, buf[v, i])
                return False
    for v in checked:  # negative
        for i in range(N):
            if buf[v, i] < -ABSOLUTE_FLOOR:
                _fail(row, 2, t, i, v, buf[v, i])
                return False
    for v in (FLOW, STO, EVAP, SPILL, WD):  # values that must be zero where no such thing happens
        for i in range(N):
            kd = net.kind[i]
            zero = kd == TERMINAL if v == FLOW else (kd != OFFTAKE if v == WD else kd != RESERVOIR)
            if zero and abs(buf[v, i]) > ABSOLUTE_FLOOR:
                _fail(row, 3, t, i, v, buf[v, i])
                return False
    _delivered(net, buf, expected)
    total_in = 0.0
    total_out = 0.0
    moved = 0.0
    for label in range(4):  # node balance, routing, reach loss, return flow
        for i in range(N):
            kd = net.kind[i]
            ds = 0.0
            if kd == RESERVOIR:
                ds = buf[STO, i] - start[net.res_pos[i]]
            if label == 0:
                res = 0.0 if kd == TERMINAL else buf[NAT, i] + buf[INF, i] - buf[FLOW, i] - buf[WD, i] - buf[EVAP, i] - ds
            elif label == 1:
                res = buf[INF, i] - expected[i]
            elif label == 2:
                res = buf[LOSS, i] - buf[FLOW, i] * net.loss[i]
            else:
                res = buf[RET, i] - buf[WD, i] * net.ret_frac[net.off_pos[i]] if kd == OFFTAKE else 0.0
            scale = max(buf[NAT, i] + buf[INF, i], abs(buf[FLOW, i]))
            size = abs(res)
            if size > rtol * scale + ABSOLUTE_FLOOR:
                _fail(row, 4 + label, t, i, 0, res)
                row[5] = buf[NAT, i]
                row[6] = buf[INF, i]
                row[7] = buf[FLOW, i]
                row[8] = buf[WD, i]
                row[9] = buf[EVAP, i]
                row[10] = ds
                return False
            worst[0] = max(worst[0], size)
            worst[1] = max(worst[1], size / max(scale, ABSOLUTE_FLOOR))
            if label == 0:
                total_in += buf[NAT, i]
                total_out += (buf[INF, i] if kd == TERMINAL else 0.0) + buf[WD, i] - buf[RET, i] + buf[LOSS, i] + buf[EVAP, i] + ds
                moved += abs(ds)
    basin = abs(total_in - total_out) / max(total_in + moved, 1.0)
    if basin > rtol:
        _fail(row, 8, t, -1, 0, total_in - total_out)
        row[5] = total_in
        return False
    worst[2] = max(worst[2], basin)
    return True


@njit(cache=True, inline="always")
def _check_month(net, buf, start, t, rtol, expected, worst, row):
    """Check one member-month (buf: ROWS x nodes, start: storage at the start, (R,)); update worst
    (max_abs_hm3, max_rel, basin_rel) and return True, or fill row (FAIL_FIELDS) and return False.

    One pass over the nodes tests everything at once; on the first doubt :func:`_first_failure` repeats the check
    in its canonical order, so that the failure reported does not depend on the order of this pass."""
    N = net.kind.shape[0]
    _delivered(net, buf, expected)
    w0 = worst[0]
    w1 = worst[1]
    total_in = 0.0
    total_out = 0.0
    moved = 0.0
    for i in range(N):
        kd = net.kind[i]
        f = buf[FLOW, i]
        wd = buf[WD, i]
        st = buf[STO, i]
        inf = buf[INF, i]
        ls = buf[LOSS, i]
        ev = buf[EVAP, i]
        sp = buf[SPILL, i]
        nat = buf[NAT, i]
        if not np.isfinite(f + wd + st + inf + ls + ev + sp):
            return _first_failure(net, buf, start, t, rtol, expected, worst, row)
        if min(min(f, wd), min(min(st, inf), min(min(ls, ev), sp))) < -ABSOLUTE_FLOOR:
            return _first_failure(net, buf, start, t, rtol, expected, worst, row)
        if kd != RESERVOIR and max(abs(st), max(abs(ev), abs(sp))) > ABSOLUTE_FLOOR:
            return _first_failure(net, buf, start, t, rtol, expected, worst, row)
        if (kd == TERMINAL and abs(f) > ABSOLUTE_FLOOR) or (kd != OFFTAKE and abs(wd) > ABSOLUTE_FLOOR):
            return _first_failure(net, buf, start, t, rtol, expected, worst, row)
        ds = st - start[net.res_pos[i]] if kd == RESERVOIR else 0.0
        r0 = 0.0 if kd == TERMINAL else nat + inf - f - wd - ev - ds
        r1 = inf - expected[i]
        r2 = ls - f * net.loss[i]
        r3 = buf[RET, i] - wd * net.ret_frac[net.off_pos[i]] if kd == OFFTAKE else 0.0
        scale = max(nat + inf, abs(f))
        size = max(max(abs(r0), abs(r1)), max(abs(r2), abs(r3)))
        if size > rtol * scale + ABSOLUTE_FLOOR:
            return _first_failure(net, buf, start, t, rtol, expected, worst, row)
        w0 = max(w0, size)
        w1 = max(w1, size / max(scale, ABSOLUTE_FLOOR))
        total_in += nat
        total_out += (inf if kd == TERMINAL else 0.0) + wd - buf[RET, i] + ls + ev + ds
        moved += abs(ds)
    basin = abs(total_in - total_out) / max(total_in + moved, 1.0)
    if basin > rtol:
        return _first_failure(net, buf, start, t, rtol, expected, worst, row)
    worst[0] = w0
    worst[1] = w1
    worst[2] = max(worst[2], basin)
    return True


@njit(cache=True, inline="always")
def _member(net, plan, op, m, natural, req_all, requirement, month, days, storage0, slot, col, out, worst, fail, check, rtol):
    """Run member m over every month; keep the rows with slot >= 0 at the nodes with col >= 0 in
    out[slot, m, :, col]; check each month if asked."""
    N = net.kind.shape[0]
    T = month.shape[0]
    P = plan.pool_limit.shape[0]
    nk = plan.k_off.shape[0]
    storage = storage0.copy()
    start = storage0.copy()
    buf = np.zeros((9, N))
    tbuf = np.zeros((9, N))
    arriving = np.empty(N)
    expected = np.empty(N)
    remaining = np.zeros(P)
    pratio = np.ones(P)
    x = np.zeros(nk)
    room = np.zeros(nk)
    kc = np.zeros(2)
    for t in range(T):
        e = plan.epoch[t]
        if t == 0 or e != plan.epoch[t - 1]:  # a new season: the pools start again
            c = _cut(plan, e, m)
            for p in range(P):
                A = plan.pool_annual[p]
                if A <= 0:
                    pratio[p] = 0.0
                    remaining[p] = 0.0
                else:
                    pratio[p] = min(1.0, c * plan.pool_limit[p] / A)
                    remaining[p] = c * plan.pool_limit[p] * plan.pool_demand[p, e] / A
        mo = month[t]
        d = days[t]
        req = req_all[t]
        ratio = 1.0
        if plan.proportional:  # the largest common ratio every group offtake can get, by bisection
            tbuf[:, :] = 0.0
            kc[0] = 0.0
            if not _route(net, plan, op, t, e, m, mo, d, natural, req, requirement, storage, tbuf, arriving,
                          True, 1.0, 1.0, pratio, remaining, x, room, kc):
                lo = 0.0
                hi = 1.0
                for _ in range(plan.iterations):
                    mid = (lo + hi) / 2
                    tbuf[:, :] = 0.0
                    kc[0] = 0.0
                    if _route(net, plan, op, t, e, m, mo, d, natural, req, requirement, storage, tbuf, arriving,
                              True, mid, 1.0, pratio, remaining, x, room, kc):
                        lo = mid
                    else:
                        hi = mid
                ratio = lo
        buf[:, :] = 0.0
        kc[0] = 0.0
        _route(net, plan, op, t, e, m, mo, d, natural, req, requirement, storage, buf, arriving,
               False, 1.0, ratio, pratio, remaining, x, room, kc)
        for rr in range(storage.shape[0]):
            start[rr] = storage[rr]
            storage[rr] = buf[STO, net.res_node[rr]]
        if check and not _check_month(net, buf, start, t, rtol, expected, worst[m], fail[m]):
            return
        for v in range(9):
            s = slot[v]
            if s >= 0:
                for i in range(N):
                    if col[i] >= 0:
                        out[s, m, t, col[i]] = buf[v, i]


@njit(parallel=True, cache=True)
def run(net, plan, op, natural, requests, requirement, month, days, storage0, slot, col, out, worst, fail, check, rtol):
    """Run every member (in parallel); op: the reservoirs' operation (:class:`hydro.reservoirs.Operation`); natural (M, T, I), requests (T, K), requirement (T, J) hm3; month (T,)
    calendar month 0-11; days (T,); storage0 (R,) hm3; slot (9,) where each row of ROWS goes in out (S, M, T, n)
    and col (N,) where each node goes, -1 = not kept. worst (M, 3) and fail (M, len(FAIL_FIELDS)) are filled per
    member (fail[:, 0] = 0: passed)."""
    for m in prange(natural.shape[0]):
        _member(net, plan, op, m, natural, requests, requirement, month, days, storage0, slot, col, out, worst, fail, check, rtol)


@njit(parallel=True, cache=True)
def check_arrays(net, arrays, initial, worst, fail, rtol):
    """Check finished arrays: arrays is a tuple of 9 (M, T, N) arrays in the order of ROWS, initial (M, R) the
    storage at the start; fills worst and fail per member as :func:`run`."""
    M, T, N = arrays[0].shape
    R = initial.shape[1]
    for m in prange(M):
        buf = np.empty((9, N))
        start = np.empty(R)
        expected = np.empty(N)
        for r in range(R):
            start[r] = initial[m, r]
        for t in range(T):
            for v in range(9):
                a = arrays[v]
                for i in range(N):
                    buf[v, i] = a[m, t, i]
            if not _check_month(net, buf, start, t, rtol, expected, worst[m], fail[m]):
                break
            for r in range(R):
                start[r] = buf[STO, net.res_node[r]]
