"""Mass balance and bounds of the simulator over randomly generated tree basins (hypothesis).

A random basin has 1-2 terminals, 1-7 river nodes (junctions, offtakes, reservoirs) hung below them as a tree,
inflow nodes feeding every river node that has nothing above it (plus a few extra tributaries), random reach
losses and protected flows, canal capacities, return flows to a node downstream or to any terminal, reservoirs
with random curves, outlets, evaporation, switched on or off, with or without demand support; random inflow
series for 1-3 members over 1-24 months. The basin is written as TOML and goes through the real loader.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydro.balance import check
from hydro.errors import MassBalanceError
from hydro.network import RESERVOIR, TERMINAL
from hydro.timeaxis import TimeAxis
from tests.conftest import fig, qty, run_tiny, tiny_basin, write_basin

CURVES_CSV = """\
curve,unit,source,note,jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec
wave,fraction,T,,0.5,0.3,0.2,0.25,0.45,0.7,0.9,1,1,0.9,0.8,0.6
half,fraction,T,,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5
"""
STARTS = ("2001-01", "2001-07", "2003-10", "2000-02", "1999-12")
TOL = 1e-9  # hm3, plus 1e-9 relative where stated
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def amounts(lo: float, hi: float):
    """Numbers in [lo, hi]: mostly spread evenly (realistic), sometimes hypothesis' edge-seeking floats."""
    even = st.integers(0, 1000).map(lambda k: lo + (hi - lo) * k / 1000)
    return st.one_of(even, even, even, st.floats(lo, hi))


fractions = amounts(0.0, 1.0)


@st.composite
def basins(draw):
    """A random valid tree basin: (basin.toml body, inflows (members, months, inflow nodes) hm3, start month).

    The inflow columns are in the order of ``network.inflow_idx``; all series are random, so which column feeds
    which node does not matter for the properties."""
    n_term = draw(st.integers(1, 2))
    n_river = draw(st.integers(1, 7))
    names: list[str] = [f"sea{j}" for j in range(n_term)]
    kind = {n: "terminal" for n in names}
    down: dict[str, str] = {}
    # river nodes hang below a terminal or an earlier river node: a tree draining to the terminals
    for r in range(n_river):
        name = f"n{r}"
        kind[name] = draw(st.sampled_from(["junction", "offtake", "offtake", "reservoir", "reservoir"]))
        down[name] = draw(st.sampled_from(names))
        names.append(name)

    def add_inflow(target: str) -> None:
        name = f"src{sum(1 for k in kind.values() if k == 'inflow')}"
        kind[name], down[name] = "inflow", target
        names.append(name)

    # a headwater above every river node with nothing above it, plus a few extra tributaries anywhere
    fed = set(down.values())
    for n in list(names):
        if kind[n] != "terminal" and n not in fed:
            add_inflow(n)
    for target in draw(st.lists(st.sampled_from(names[: n_term + n_river]), max_size=3)):
        add_inflow(target)
    if "sea0" not in set(down.values()):
        add_inflow("sea0")

    def below(n: str) -> list[str]:
        out = []
        while n in down:
            n = down[n]
            out.append(n)
        return out

    terminals = [n for n in names if kind[n] == "terminal"]
    offtakes = [n for n in names if kind[n] == "offtake"]
    returns: dict[str, str] = {}
    for n in offtakes:
        if draw(st.booleans()):
            returns[n] = draw(st.sampled_from(below(n) + terminals))
    for t in terminals:
        if t not in set(down.values()) and t not in returns.values():
            # nothing flows into this terminal: a return flow may feed it, else it gets a tributary
            if offtakes and draw(st.booleans()):
                returns[offtakes[0]] = t
            else:
                add_inflow(t)

    lines = ['reservoir_curves = "curves.csv"']
    order = draw(st.permutations(names))  # file order must not matter
    for n in order:
        k = kind[n]
        lines += ["[[node]]", f'name = "{n}"', f'kind = "{k}"']
        if k == "inflow":
            lines += ['regime = "uniform"', f'annual_flow = {fig("1 km3/yr")}']
        elif k == "offtake":
            lines += ['state = "TKM"', f"demand = {qty(draw(amounts(0, 5000)), 'hm3/yr')}",
                      f"growing_share = {fig(draw(fractions))}"]
            if draw(st.booleans()):
                lines.append(f"capacity = {qty(draw(amounts(0, 200)), 'm3/s')}")
            if n in returns:
                lines += [f"return_fraction = {fig(draw(amounts(0.01, 1.0)))}", f'return_to = "{returns[n]}"']
            if draw(st.booleans()):
                lines.append(f"conveyance_loss = {fig(draw(amounts(0, 0.9)))}")
        elif k == "reservoir":
            cap = draw(amounts(0.0, 2000.0))
            dead = draw(fractions) * cap
            lines += [f"capacity = {qty(cap, 'hm3')}", f"dead_storage = {qty(dead, 'hm3')}",
                      f'curve = "{draw(st.sampled_from(["full", "empty", "wave", "half"]))}"',
                      f"enabled = {str(draw(st.sampled_from([True, True, False]))).lower()}",
                      f"demand_support = {str(draw(st.booleans())).lower()}"]
            if draw(st.booleans()):
                lines.append(f"initial_storage = {qty(draw(fractions) * cap, 'hm3')}")
            if draw(st.booleans()):
                lines.append(f"evaporation = {qty(draw(amounts(0, 0.5)), 'km3/yr')}")
            if draw(st.booleans()):
                lines.append(f"max_release = {qty(draw(amounts(0, 300)), 'm3/s')}")
        elif k == "terminal" and draw(st.booleans()):
            lines += [f"requirement = {qty(draw(amounts(0, 3000)), 'hm3/yr')}", f"growing_share = {fig(draw(fractions))}"]
    for n in order:
        if n in down:
            lines += ["[[reach]]", f'from = "{n}"', f'to = "{down[n]}"']
            if draw(st.booleans()):
                lines.append(f"loss_fraction = {fig(draw(amounts(0.0, 0.6)))}")
            if kind[n] in ("offtake", "reservoir") and draw(st.integers(0, 3)) == 0:  # protected flows act below these only
                lines.append(f"min_flow = {qty(draw(amounts(0, 50)), 'm3/s')}")
    body = "\n".join(lines) + "\n"

    members = draw(st.integers(1, 3))
    months = draw(st.integers(1, 24))
    n_in = sum(1 for k in kind.values() if k == "inflow")
    size = members * months * n_in
    flat = draw(st.lists(amounts(0.0, 800.0), min_size=size, max_size=size))
    inflows = np.array(flat, dtype=float).reshape(members, months, n_in)
    return body, inflows, draw(st.sampled_from(STARTS))


def _run(body, inflows, start):
    """Write and simulate a generated basin; returns (arrays, network, axis)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_basin(Path(tmp) / "basin", body, files={"curves.csv": CURVES_CSV})
        arrays, net = run_tiny(folder, inflows, start=start)
    return arrays, net, TimeAxis(np.datetime64(start, "M"), inflows.shape[1])


@PROPERTY_SETTINGS
@given(basins())
def test_mass_balance_and_bounds_hold_on_random_basins(case):
    body, inflows, start = case
    arrays, net, axis = _run(body, inflows, start)  # simulate() itself raises MassBalanceError on a bad node balance
    check(arrays, net)  # and the independent recheck passes too

    numeric = [k for k in arrays if k != "balance"]
    for key in numeric:
        assert np.all(np.isfinite(arrays[key])), key
        assert np.all(arrays[key] >= -TOL), (key, arrays[key].min())

    days = axis.days[None, :]
    term, off, res = net.kind == TERMINAL, net.offtake_idx, net.reservoir_idx
    # whole basin: natural inflow = terminals + consumptive use + reach losses + evaporation + storage change
    natural = arrays["natural_inflow"].sum(axis=(1, 2))
    d_storage = arrays["storage"][:, -1, :].sum(axis=1) - arrays["initial_storage"].sum(axis=1)
    parts = (arrays["inflow"][:, :, term].sum(axis=(1, 2)),
             (arrays["withdrawal"] - arrays["return_flow"]).sum(axis=(1, 2)),
             arrays["reach_loss"].sum(axis=(1, 2)),
             arrays["evaporation"].sum(axis=(1, 2)),
             d_storage)
    scale = np.maximum(natural + arrays["initial_storage"].sum(axis=1), 1.0)
    np.testing.assert_allclose(natural, sum(parts), rtol=0, atol=float(1e-9 * scale.max()))
    np.testing.assert_allclose(natural, inflows.sum(axis=(1, 2)), rtol=1e-12, atol=TOL)

    # offtakes: withdrawal <= demand and <= canal capacity; shortfall is the rest; returns are their fraction
    demand, taken = arrays["demand"][:, :, off], arrays["withdrawal"][:, :, off]
    assert np.all(taken <= demand + TOL)
    assert np.all(taken <= np.minimum(demand, net.offtake_capacity[None, None, :] * days[..., None]) * (1 + 1e-12) + TOL)
    np.testing.assert_allclose(arrays["shortfall"][:, :, off], demand - taken, rtol=0, atol=TOL)
    np.testing.assert_allclose(arrays["return_flow"][:, :, off], taken * net.offtake_return_fraction, rtol=1e-12, atol=TOL)
    not_off = np.setdiff1d(np.arange(net.n), off)
    assert np.all(arrays["withdrawal"][:, :, not_off] == 0.0)
    # upstream first: each offtake takes min(request, what is there above the protected flow)
    there = arrays["inflow"][:, :, off] + arrays["natural_inflow"][:, :, off]
    above = np.maximum(there - net.min_flow[off][None, None, :] * days[..., None], 0.0)
    request = np.minimum(demand, net.offtake_capacity[None, None, :] * days[..., None])
    np.testing.assert_allclose(taken, np.minimum(request, above), rtol=1e-12, atol=TOL)

    # reaches lose their fraction of what leaves the node; terminals pass nothing on
    np.testing.assert_allclose(arrays["reach_loss"], arrays["flow"] * net.loss_fraction, rtol=1e-12, atol=TOL)
    assert np.all(arrays["flow"][:, :, term] == 0.0)

    # reservoirs: 0 <= storage <= capacity; releases never draw below dead storage nor exceed the outlet
    cap, dead = net.reservoir_capacity, net.reservoir_dead
    storage = arrays["storage"][:, :, res]
    assert np.all(storage <= cap + TOL * (1 + cap))
    prev = np.concatenate([arrays["initial_storage"][:, None, res], storage[:, :-1]], axis=1)
    avail = prev + arrays["inflow"][:, :, res] - arrays["evaporation"][:, :, res]
    release = arrays["flow"][:, :, res] - arrays["spill"][:, :, res]
    assert np.all(release <= np.maximum(avail - dead, 0.0) + TOL * (1 + avail))
    assert np.all(release <= net.reservoir_max_release * days[..., None] * (1 + 1e-12) + TOL)
    spilling = arrays["spill"][:, :, res] > TOL
    np.testing.assert_allclose(storage[spilling], np.broadcast_to(cap, storage.shape)[spilling], rtol=1e-12, atol=TOL)
    # nothing is stored, spilled or evaporated anywhere but at working reservoirs (switched-off ones included)
    elsewhere = np.setdiff1d(np.arange(net.n), res)
    for key in ("storage", "spill", "evaporation"):
        assert np.all(arrays[key][:, :, elsewhere] == 0.0), key
    assert np.all(arrays["initial_storage"][:, elsewhere] == 0.0)
    assert set(net.kind[res]) <= {RESERVOIR}

    # members are independent: member m equals a run with member m alone
    if inflows.shape[0] > 1:
        alone, _, _ = _run(body, inflows[-1:], start)
        for key in ("flow", "withdrawal", "storage", "inflow"):
            np.testing.assert_allclose(arrays[key][-1], alone[key][0], rtol=1e-12, atol=TOL)


CHECKED = ("flow", "inflow", "withdrawal", "natural_inflow", "reach_loss", "evaporation", "storage", "return_flow")


@PROPERTY_SETTINGS
@given(basins(), st.sampled_from(CHECKED), st.integers(0, 10**6), st.sampled_from([1.0, -1.0]))
def test_check_catches_a_corrupted_value(case, key, where, sign):
    """Add (or take) 1 hm3 to one value of a valid run: hydro.balance.check must raise MassBalanceError.

    Flow and storage at terminals are left out here: check() misses those (see the two xfail tests below).
    Taking 1 hm3 from a zero value is caught as a negative value; adding it must be caught as an imbalance."""
    body, inflows, start = case
    arrays, net, _ = _run(body, inflows, start)
    members, months, n = arrays[key].shape
    cells = [(m, t, i) for m in range(members) for t in range(months) for i in range(n)
             if not (net.kind[i] == TERMINAL and key in ("flow", "storage"))]
    m, t, i = cells[where % len(cells)]
    bad = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in arrays.items()}
    bad[key][m, t, i] += sign
    with pytest.raises(MassBalanceError):
        check(bad, net)
    check(arrays, net)  # the untouched run still passes


def _simple_run(tmp_path):
    body = tiny_basin(demand="1830 hm3/yr", growing_share=0.5)
    return run_tiny(write_basin(tmp_path, body), np.full((3, 1), 100.0), start="2001-07")


@pytest.mark.parametrize("key, node", [("flow", "farm"), ("inflow", "sea"), ("withdrawal", "farm"),
                                       ("natural_inflow", "src"), ("reach_loss", "src"), ("storage", "farm"),
                                       ("evaporation", "farm"), ("return_flow", "farm")])
def test_check_catches_one_corrupted_value_in_a_small_run(tmp_path, key, node):
    """src (100/month) -> farm (offtake) -> sea, July-Sept 2001: +1 hm3 on one value in month 1 must raise."""
    arrays, net = _simple_run(tmp_path)
    arrays[key][0, 1, net.index(node)] += 1.0
    with pytest.raises(MassBalanceError):
        check(arrays, net)


def test_check_catches_flow_leaving_a_terminal(tmp_path):
    """src (100/month) -> farm -> sea: a terminal keeps what reaches it, so flow at sea must be 0; 1 hm3 there
    is water leaving the basin through no balance term, and check() should raise."""
    arrays, net = _simple_run(tmp_path)
    arrays["flow"][0, 1, net.index("sea")] += 1.0
    with pytest.raises(MassBalanceError):
        check(arrays, net)


def test_check_catches_storage_at_a_terminal_mid_run(tmp_path):
    """src (100/month) -> farm -> sea: terminals hold no storage; +1 hm3 at sea in month 1 of 3 should raise."""
    arrays, net = _simple_run(tmp_path)
    arrays["storage"][0, 1, net.index("sea")] += 1.0
    with pytest.raises(MassBalanceError):
        check(arrays, net)
