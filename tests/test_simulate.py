"""The simulator on tiny basins (2-4 nodes) whose answers can be worked out by hand.

Conventions used throughout (so that the hand computations stay short):

* inflows are given directly in hm3 per month (``run_tiny``); inflow nodes are ``regime = "uniform"`` and their
  ``annual_flow`` is never used here;
* a demand of ``"1830 hm3/yr"`` with ``growing_share = 0.5`` is 915 hm3 over the 183 days of Apr-Sep, i.e.
  exactly **5 hm3/day** in the growing season: 150 hm3 in a 30-day month, 155 hm3 in a 31-day month;
* most runs start in July 2001 (31 days, growing season); April-June 2001 have 30, 31, 30 days;
* ``"10 m3/s"`` is 10 * 86400 / 1e6 = 0.864 hm3/day; ``"1 hm3/day"`` is 1 hm3/day.

Expected values are computed by hand in each test, never by re-running the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from hydro.basin import load_basin
from hydro.errors import MassBalanceError
from hydro.network import compile_network
from tests.conftest import node, reach, run_tiny, write_basin

RTOL = 1e-12  # pure arithmetic on a handful of numbers: only float rounding separates model and hand
ATOL = 1e-9  # hm3

DEMAND_5_PER_DAY = {"demand": "1830 hm3/yr", "growing_share": 0.5}  # 5 hm3/day in Apr-Sep


def inflow_columns(folder, **series) -> np.ndarray:
    """(months, inflow nodes) with each node's series in the column order of ``network.inflow_idx``."""
    net = compile_network(load_basin(folder))
    return np.array([series[net.names[i]] for i in net.inflow_idx], dtype=float).T


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------------------------
# routing and reach losses
# --------------------------------------------------------------------------------------------------------------

def test_junction_adds_two_tributaries(tmp_path):
    """
        a (inflow) --\\
                      j (junction) -> sea (terminal)
        b (inflow) --/

    Month by month: sea receives a + b, j passes a + b on, nothing is lost or stored.
    a = [30, 0, 7.5], b = [12, 5, 0]  ->  sea = [42, 5, 7.5].
    """
    folder = write_basin(tmp_path, node("a", "inflow") + node("b", "inflow") + node("j", "junction")
                         + node("sea", "terminal") + reach("a", "j") + reach("b", "j") + reach("j", "sea"))
    a, b = [30.0, 0.0, 7.5], [12.0, 5.0, 0.0]
    inflows = inflow_columns(folder, a=a, b=b)
    arrays, net = run_tiny(folder, inflows)
    j, sea = net.index("j"), net.index("sea")
    close(arrays["inflow"][0, :, j], [42.0, 5.0, 7.5])
    close(arrays["flow"][0, :, j], [42.0, 5.0, 7.5])
    close(arrays["inflow"][0, :, sea], [42.0, 5.0, 7.5])
    close(arrays["natural_inflow"][0, :, net.index("a")], a)
    close(arrays["natural_inflow"][0, :, net.index("b")], b)
    close(arrays["flow"][0, :, sea], 0.0)  # a terminal keeps what reaches it
    close(arrays["reach_loss"][0], 0.0)


def test_reach_loss_takes_its_fraction(tmp_path):
    """
        src (inflow) --[loss 0.1]--> sea (terminal)

    100 hm3 leave src; the reach loses 0.1 * 100 = 10 (booked as reach_loss at src), sea receives 90.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("sea", "terminal") + reach("src", "sea", loss_fraction=0.1))
    arrays, net = run_tiny(folder, [[100.0], [40.0]])
    src, sea = net.index("src"), net.index("sea")
    close(arrays["inflow"][0, :, sea], [90.0, 36.0])
    close(arrays["reach_loss"][0, :, src], [10.0, 4.0])
    close(arrays["reach_loss"][0, :, sea], 0.0)


def test_chained_reach_losses_multiply(tmp_path):
    """
        src (inflow) --[loss 0.1]--> j (junction) --[loss 0.2]--> sea (terminal)

    100 -> j receives 100 * 0.9 = 90 (loss 10) -> sea receives 90 * 0.8 = 72 (loss 18).
    Total delivered fraction 0.9 * 0.8 = 0.72, not 1 - 0.1 - 0.2 = 0.7.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("j", "junction") + node("sea", "terminal")
                         + reach("src", "j", loss_fraction=0.1) + reach("j", "sea", loss_fraction=0.2))
    arrays, net = run_tiny(folder, [[100.0]])
    src, j, sea = net.index("src"), net.index("j"), net.index("sea")
    close(arrays["inflow"][0, 0, j], 90.0)
    close(arrays["inflow"][0, 0, sea], 72.0)
    close(arrays["reach_loss"][0, 0, src], 10.0)
    close(arrays["reach_loss"][0, 0, j], 18.0)


# --------------------------------------------------------------------------------------------------------------
# offtakes: capacity, seasonal demand, return flows, priority, protected flow
# --------------------------------------------------------------------------------------------------------------

def test_offtake_capacity_caps_withdrawal(tmp_path):
    """
        src (inflow, 1000 hm3/month) -> farm (offtake, 5 hm3/day, canal 10 m3/s) -> sea (terminal)

    April-June 2001 (30, 31, 30 days). Canal: 10 m3/s = 0.864 hm3/day.
    withdrawal = 0.864 * days = [25.92, 26.784, 25.92]; demand = 5 * days = [150, 155, 150];
    shortfall = demand - withdrawal = [124.08, 128.216, 124.08]; sea = 1000 - withdrawal.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("farm", "offtake", capacity="10 m3/s", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, np.full((3, 1), 1000.0), start="2001-04")
    farm, sea = net.index("farm"), net.index("sea")
    days = np.array([30.0, 31.0, 30.0])
    cap = 10.0 * days * 86400 / 1e6
    close(cap, [25.92, 26.784, 25.92])
    close(arrays["withdrawal"][0, :, farm], cap)
    close(arrays["demand"][0, :, farm], [150.0, 155.0, 150.0])
    close(arrays["shortfall"][0, :, farm], [124.08, 128.216, 124.08])
    close(arrays["inflow"][0, :, sea], 1000.0 - cap)


def test_demand_split_by_season_and_days(tmp_path):
    """
        src (inflow, plenty) -> farm (offtake, 1000 hm3/yr, growing_share 0.7) -> sea (terminal)

    Calendar year 2001 (not leap): Apr-Sep (183 days) get 700 hm3 by days, Oct-Mar (182 days: Feb has 28) get
    300 hm3 by days.  January: 300 * 31/182 = 51.0989..., February: 300 * 28/182 = 46.1538..., July: 700 * 31/183.
    Jan-Mar 2001 belong to the 2000/01 winter, Oct-Dec 2001 to the 2001/02 winter; both winters have 182 days,
    so the calendar year still adds up to 1000.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("farm", "offtake", demand="1000 hm3/yr", growing_share=0.7)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, np.full((12, 1), 1e5), start="2001-01")
    farm = net.index("farm")
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    growing = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    expected = np.where(growing, 700.0 * days / 183.0, 300.0 * days / 182.0)
    close(expected[0], 51.0989010989011, rtol=1e-12)
    close(arrays["demand"][0, :, farm], expected, rtol=1e-12)
    close(arrays["withdrawal"][0, :, farm], expected, rtol=1e-12)  # plenty of water: all served
    close(arrays["shortfall"][0, :, farm], 0.0)
    close(arrays["demand"][0, :, farm].sum(), 1000.0, rtol=1e-12)
    close(arrays["demand"][0, growing, farm].sum(), 700.0, rtol=1e-12)


def test_demand_split_in_a_leap_water_year(tmp_path):
    """
        src (inflow, plenty) -> farm (offtake, 1000 hm3/yr, growing_share 0.7) -> sea (terminal)

    Water year 2004 (Oct 2003 - Sep 2004): February 2004 has 29 days, so Oct-Mar has 183 days.
    October: 300 * 31/183, February: 300 * 29/183, April: 700 * 30/183; the water year adds up to 1000.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("farm", "offtake", demand="1000 hm3/yr", growing_share=0.7)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, np.full((12, 1), 1e5), start="2003-10")
    farm = net.index("farm")
    # Oct Nov Dec Jan Feb Mar | Apr May Jun Jul Aug Sep
    days = np.array([31, 30, 31, 31, 29, 31, 30, 31, 30, 31, 31, 30], dtype=float)
    expected = np.concatenate([300.0 * days[:6] / 183.0, 700.0 * days[6:] / 183.0])
    close(arrays["demand"][0, :, farm], expected, rtol=1e-12)
    close(arrays["demand"][0, 4, farm], 300.0 * 29 / 183, rtol=1e-12)
    close(arrays["demand"][0, :, farm].sum(), 1000.0, rtol=1e-12)


def test_return_flow_reaches_a_downstream_node_in_the_same_month(tmp_path):
    """
        src (inflow, 300) -> farm (offtake, 155 in July, returns 25 %) -> mid (junction) -> sea (terminal)
                               `---------- return 0.25 * 155 = 38.75 ------^

    July 2001: farm takes 155 and passes 300 - 155 = 145; mid receives 145 + 38.75 = 183.75, all to sea.
    Consumptive use at farm: 155 - 38.75 = 116.25; 300 = 183.75 + 116.25.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("farm", "offtake", return_fraction=0.25, return_to="mid", **DEMAND_5_PER_DAY)
                         + node("mid", "junction") + node("sea", "terminal")
                         + reach("src", "farm") + reach("farm", "mid") + reach("mid", "sea"))
    arrays, net = run_tiny(folder, [[300.0]], start="2001-07")
    farm, mid, sea = net.index("farm"), net.index("mid"), net.index("sea")
    close(arrays["withdrawal"][0, 0, farm], 155.0)
    close(arrays["return_flow"][0, 0, farm], 38.75)
    close(arrays["flow"][0, 0, farm], 145.0)
    close(arrays["inflow"][0, 0, mid], 183.75)
    close(arrays["inflow"][0, 0, sea], 183.75)


def test_return_flow_is_reused_downstream_in_the_same_month(tmp_path):
    """
        src (inflow, 200) -> up (offtake, 155, returns 25 % to down) -> down (offtake, 155) -> sea (terminal)

    July 2001: up takes 155, passes 45 and returns 38.75 to down; down has 45 + 38.75 = 83.75 and takes it all
    (shortfall 155 - 83.75 = 71.25); sea gets 0.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("up", "offtake", return_fraction=0.25, return_to="down", **DEMAND_5_PER_DAY)
                         + node("down", "offtake", **DEMAND_5_PER_DAY) + node("sea", "terminal")
                         + reach("src", "up") + reach("up", "down") + reach("down", "sea"))
    arrays, net = run_tiny(folder, [[200.0]], start="2001-07")
    up, down, sea = net.index("up"), net.index("down"), net.index("sea")
    close(arrays["withdrawal"][0, 0, up], 155.0)
    close(arrays["inflow"][0, 0, down], 45.0 + 38.75)
    close(arrays["withdrawal"][0, 0, down], 83.75)
    close(arrays["shortfall"][0, 0, down], 71.25)
    close(arrays["inflow"][0, 0, sea], 0.0)


def test_return_flow_to_a_terminal_off_the_river(tmp_path):
    """
        src (inflow, 300) -> farm (offtake, 155) -> sea (terminal)
                               `-- return 25 % --> lake (terminal, no reach into it)

    July 2001: farm takes 155; lake receives 0.25 * 155 = 38.75; sea receives 300 - 155 = 145.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("farm", "offtake", return_fraction=0.25, return_to="lake", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + node("lake", "terminal")
                         + reach("src", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, [[300.0]], start="2001-07")
    lake, sea = net.index("lake"), net.index("sea")
    close(arrays["inflow"][0, 0, lake], 38.75)
    close(arrays["inflow"][0, 0, sea], 145.0)


def test_return_flow_to_the_terminal_below_bypasses_the_reach_loss(tmp_path):
    """
        src (inflow, 300) -> farm (offtake, 155, returns 25 % to sea) --[loss 0.1]--> sea (terminal)

    July 2001: the river below farm carries 145 and loses 14.5; the return flow 38.75 goes straight to sea:
    sea = 145 * 0.9 + 38.75 = 169.25.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("farm", "offtake", return_fraction=0.25, return_to="sea", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea", loss_fraction=0.1))
    arrays, net = run_tiny(folder, [[300.0]], start="2001-07")
    farm, sea = net.index("farm"), net.index("sea")
    close(arrays["reach_loss"][0, 0, farm], 14.5)
    close(arrays["inflow"][0, 0, sea], 169.25)


def test_conveyance_loss_is_a_share_of_the_withdrawal(tmp_path):
    """
        src (inflow, 300) -> farm (offtake, 155, conveyance_loss 0.2, returns 25 % to sea) -> sea (terminal)

    July 2001: canal_loss = 0.2 * 155 = 31 (bookkeeping of the withdrawal, not an extra draw on the river);
    the return flow is 25 % of the withdrawal, 38.75; sea = 145 + 38.75 = 183.75.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("farm", "offtake", conveyance_loss=0.2, return_fraction=0.25, return_to="sea", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, [[300.0]], start="2001-07")
    farm, sea = net.index("farm"), net.index("sea")
    close(arrays["withdrawal"][0, 0, farm], 155.0)
    close(arrays["canal_loss"][0, 0, farm], 31.0)
    close(arrays["return_flow"][0, 0, farm], 38.75)
    close(arrays["inflow"][0, 0, sea], 183.75)


def test_upstream_offtake_is_served_first(tmp_path):
    """
        src (inflow) -> up (offtake, 155) -> down (offtake, 155) -> sea (terminal)

    July 2001, two members: 200 and 400 hm3.
    member 0: up takes 155, down gets the remaining 45 (shortfall 110), sea 0;
    member 1: both served (155 + 155 = 310), sea gets 90.
    The file lists `down` before `up`: the priority follows the river, not the file order.
    """
    folder = write_basin(tmp_path, node("sea", "terminal") + node("down", "offtake", **DEMAND_5_PER_DAY)
                         + node("up", "offtake", **DEMAND_5_PER_DAY) + node("src", "inflow")
                         + reach("down", "sea") + reach("up", "down") + reach("src", "up"))
    arrays, net = run_tiny(folder, [[[200.0]], [[400.0]]], start="2001-07")
    up, down, sea = net.index("up"), net.index("down"), net.index("sea")
    close(arrays["withdrawal"][:, 0, up], [155.0, 155.0])
    close(arrays["withdrawal"][:, 0, down], [45.0, 155.0])
    close(arrays["shortfall"][:, 0, up], [0.0, 0.0])
    close(arrays["shortfall"][:, 0, down], [110.0, 0.0])
    close(arrays["inflow"][:, 0, sea], [0.0, 90.0])


def test_protected_minimum_flow_stays_in_the_river(tmp_path):
    """
        src (inflow) -> farm (offtake, 155) --[min_flow 5 m3/s]--> sea (terminal)

    July 2001: protected = 5 m3/s * 31 d * 86400 / 1e6 = 13.392 hm3.
    member 0 (100 hm3): farm may take 100 - 13.392 = 86.608, sea gets 13.392;
    member 1 (10 hm3, less than the protected flow): farm takes nothing, sea gets 10;
    member 2 (500 hm3): the protected flow does not bind, farm takes 155, sea gets 345.
    """
    folder = write_basin(tmp_path, node("src", "inflow") + node("farm", "offtake", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea", min_flow="5 m3/s"))
    arrays, net = run_tiny(folder, [[[100.0]], [[10.0]], [[500.0]]], start="2001-07")
    farm, sea = net.index("farm"), net.index("sea")
    protected = 5.0 * 31 * 86400 / 1e6
    close(protected, 13.392)
    close(arrays["withdrawal"][:, 0, farm], [100.0 - 13.392, 0.0, 155.0])
    close(arrays["inflow"][:, 0, sea], [13.392, 10.0, 345.0])


# --------------------------------------------------------------------------------------------------------------
# reservoirs
# --------------------------------------------------------------------------------------------------------------

def _reservoir_basin(tmp_path, files=None, **res_keys):
    """src (inflow) -> res (reservoir) -> sea (terminal)."""
    body = (node("src", "inflow") + node("res", "reservoir", **res_keys) + node("sea", "terminal")
            + reach("src", "res") + reach("res", "sea"))
    if files:
        body = 'reservoir_curves = "curves.csv"\n' + body
    return write_basin(tmp_path, body, files=files)


def test_reservoir_fills_towards_a_full_curve_then_passes_the_surplus(tmp_path):
    """
        src (inflow, 30/month) -> res (reservoir, capacity 100, dead 10, starts at 20, curve full) -> sea

    Target is 100 every month. Storage: 20 -> 50 -> 80 -> 100 (avail 110, releases 10) -> 100 (releases 30).
    sea = [0, 0, 10, 30].
    """
    folder = _reservoir_basin(tmp_path, capacity="100 hm3", dead_storage="10 hm3", initial_storage="20 hm3", curve="full")
    arrays, net = run_tiny(folder, np.full((4, 1), 30.0))
    res, sea = net.index("res"), net.index("sea")
    close(arrays["initial_storage"][0, res], 20.0)
    close(arrays["storage"][0, :, res], [50.0, 80.0, 100.0, 100.0])
    close(arrays["flow"][0, :, res], [0.0, 0.0, 10.0, 30.0])
    close(arrays["inflow"][0, :, sea], [0.0, 0.0, 10.0, 30.0])
    close(arrays["spill"][0, :, res], 0.0)


def test_reservoir_releases_what_is_above_an_empty_curve_but_keeps_dead_storage(tmp_path):
    """
        src (inflow, 5/month) -> res (reservoir, capacity 100, dead 10, starts at 60, curve empty) -> sea

    Target = dead storage = 10. Month 1: avail 65, release 55, storage 10. Then each month the 5 arriving
    pass straight through; storage never goes below 10.
    """
    folder = _reservoir_basin(tmp_path, capacity="100 hm3", dead_storage="10 hm3", initial_storage="60 hm3", curve="empty")
    arrays, net = run_tiny(folder, np.full((3, 1), 5.0))
    res = net.index("res")
    close(arrays["flow"][0, :, res], [55.0, 5.0, 5.0])
    close(arrays["storage"][0, :, res], [10.0, 10.0, 10.0])


def test_reservoir_follows_a_named_curve_and_starts_on_it(tmp_path):
    """
        src (inflow, 20/month) -> res (reservoir, capacity 110, dead 10, curve "test") -> sea

    Active storage 100. Curve (month-end fraction): dec 0.8, jan 0.5, feb 0.3, mar 0.6.
    No initial_storage: the run (from January) starts on December's target 10 + 0.8*100 = 90.
    Jan: target 60, avail 110 -> release 50.  Feb: target 40, avail 80 -> release 40.
    Mar: target 70, avail 60 -> release 0, storage 60 (filling towards the curve).
    """
    curves = """\
        curve,unit,source,note,jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec
        test,fraction,T,,0.5,0.3,0.6,1,1,1,1,1,1,1,1,0.8
    """
    folder = _reservoir_basin(tmp_path, files={"curves.csv": curves}, capacity="110 hm3", dead_storage="10 hm3", curve="test")
    arrays, net = run_tiny(folder, np.full((3, 1), 20.0), start="2001-01")
    res = net.index("res")
    close(arrays["initial_storage"][0, res], 90.0)
    close(arrays["storage"][0, :, res], [60.0, 40.0, 60.0])
    close(arrays["flow"][0, :, res], [50.0, 40.0, 0.0])


def test_reservoir_spills_above_capacity_when_max_release_binds(tmp_path):
    """
        src (inflow, 50) -> res (reservoir, capacity 100, dead 0, starts full, curve full, max 1 hm3/day) -> sea

    July 2001 (31 days): avail 150, the curve asks to release 50 but the outlet passes only 31;
    storage would be 119 > 100, so 19 spill. flow = release + spill = 31 + 19 = 50; storage 100.
    """
    folder = _reservoir_basin(tmp_path, capacity="100 hm3", dead_storage="0 hm3", initial_storage="100 hm3",
                              curve="full", max_release="1 hm3/day")
    arrays, net = run_tiny(folder, [[50.0]], start="2001-07")
    res, sea = net.index("res"), net.index("sea")
    close(arrays["spill"][0, 0, res], 19.0)
    close(arrays["flow"][0, 0, res], 50.0)
    close(arrays["storage"][0, 0, res], 100.0)
    close(arrays["inflow"][0, 0, sea], 50.0)


def test_reservoir_max_release_holds_water_back_below_capacity(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, capacity 100, dead 0, starts at 100, curve empty, max 1 hm3/day) -> sea

    July-August 2001 (31 + 31 days): the curve asks to empty the reservoir, the outlet passes 31 a month:
    storage 69, then 38; nothing spills.
    """
    folder = _reservoir_basin(tmp_path, capacity="100 hm3", dead_storage="0 hm3", initial_storage="100 hm3",
                              curve="empty", max_release="1 hm3/day")
    arrays, net = run_tiny(folder, [[0.0], [0.0]], start="2001-07")
    res = net.index("res")
    close(arrays["flow"][0, :, res], [31.0, 31.0])
    close(arrays["storage"][0, :, res], [69.0, 38.0])
    close(arrays["spill"][0, :, res], 0.0)


def test_reservoir_evaporation_scales_with_storage(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, capacity 1000, dead 0, starts at 500, curve full, evaporation 0.012 km3/yr)

    12 hm3/yr when full. July 2001: E1 = 12 * 31/365.25 * 500/1000 = 0.509240...; storage 500 - E1.
    August: E2 = 12 * 31/365.25 * (500 - E1)/1000.  Nothing is released (below the full curve).
    """
    folder = _reservoir_basin(tmp_path, capacity="1000 hm3", dead_storage="0 hm3", initial_storage="500 hm3",
                              curve="full", evaporation="0.012 km3/yr")
    arrays, net = run_tiny(folder, [[0.0], [0.0]], start="2001-07")
    res = net.index("res")
    e1 = 12.0 * 31 / 365.25 * 500.0 / 1000.0
    s1 = 500.0 - e1
    e2 = 12.0 * 31 / 365.25 * s1 / 1000.0
    close(e1, 0.5092402464065708, rtol=1e-12)
    close(arrays["evaporation"][0, :, res], [e1, e2])
    close(arrays["storage"][0, :, res], [s1, s1 - e2])
    close(arrays["flow"][0, :, res], 0.0)


def test_reservoir_evaporation_never_exceeds_the_water_there(tmp_path):
    """
        src (inflow, 0.5) -> res (reservoir, capacity 1, dead 0, starts full, curve full, evaporation 100 hm3/yr) -> sea

    July 2001: the full-reservoir rate would be 100 * 31/365.25 = 8.49 hm3, but only 1 + 0.5 = 1.5 hm3 are there:
    evaporation 1.5, storage 0, nothing released.
    """
    folder = _reservoir_basin(tmp_path, capacity="1 hm3", dead_storage="0 hm3", initial_storage="1 hm3",
                              curve="full", evaporation="100 hm3/yr")
    arrays, net = run_tiny(folder, [[0.5]], start="2001-07")
    res = net.index("res")
    close(arrays["evaporation"][0, 0, res], 1.5)
    close(arrays["storage"][0, 0, res], 0.0)
    close(arrays["flow"][0, 0, res], 0.0)


def test_disabled_reservoir_passes_water_through(tmp_path):
    """
        src (inflow) -> res (reservoir, enabled = false, capacity 100, starts at 50, evaporation) -> sea

    Switched off in the file, res is a plain junction: sea receives exactly the inflow [30, 0, 12],
    storage and evaporation stay 0 (the 50 hm3 initial storage are not counted either).
    """
    folder = _reservoir_basin(tmp_path, capacity="100 hm3", dead_storage="10 hm3", initial_storage="50 hm3",
                              curve="full", evaporation="12 hm3/yr", enabled=False)
    arrays, net = run_tiny(folder, [[30.0], [0.0], [12.0]])
    res, sea = net.index("res"), net.index("sea")
    close(arrays["inflow"][0, :, sea], [30.0, 0.0, 12.0])
    close(arrays["storage"][0, :, res], 0.0)
    close(arrays["initial_storage"][0, res], 0.0)
    close(arrays["evaporation"][0, :, res], 0.0)
    assert len(net.reservoir_idx) == 0


def test_reservoir_switched_off_and_on_by_the_run(tmp_path):
    """
        src (inflow, 30/month) -> res (reservoir, capacity 100, dead 10, starts at 20, curve full) -> sea

    run_tiny(enabled={"res": False}) on a reservoir enabled in the file: sea = inflow = [30, 30], storage 0.
    The same basin with enabled = false in the file and run_tiny(enabled={"res": True}): the reservoir works
    again and fills 20 -> 50 -> 80, sea = [0, 0].
    """
    keys = dict(capacity="100 hm3", dead_storage="10 hm3", initial_storage="20 hm3", curve="full")
    on_in_file = _reservoir_basin(tmp_path / "on", **keys)
    arrays, net = run_tiny(on_in_file, np.full((2, 1), 30.0), enabled={"res": False})
    close(arrays["inflow"][0, :, net.index("sea")], [30.0, 30.0])
    close(arrays["storage"][0, :, net.index("res")], 0.0)

    off_in_file = _reservoir_basin(tmp_path / "off", enabled=False, **keys)
    arrays, net = run_tiny(off_in_file, np.full((2, 1), 30.0), enabled={"res": True})
    close(arrays["inflow"][0, :, net.index("sea")], [0.0, 0.0])
    close(arrays["storage"][0, :, net.index("res")], [50.0, 80.0])


def test_demand_support_releases_for_offtakes_below_grossed_up_for_losses(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, capacity 1000, dead 0, starts at 500, curve full, demand_support)
                        --[loss 0.2]--> farm (offtake, 155 in July) -> sea (terminal)

    July 2001: the curve says keep everything, but farm asks 155 and the reach loses 20 %, so res releases
    155 / 0.8 = 193.75; the reach loses 38.75 and farm receives and takes exactly 155. Storage 500 - 193.75.
    Without demand_support (second basin) res releases nothing and farm gets nothing.
    """
    def basin(folder, support):
        return write_basin(folder, node("src", "inflow")
                           + node("res", "reservoir", capacity="1000 hm3", dead_storage="0 hm3", initial_storage="500 hm3",
                                  curve="full", demand_support=support)
                           + node("farm", "offtake", **DEMAND_5_PER_DAY) + node("sea", "terminal")
                           + reach("src", "res") + reach("res", "farm", loss_fraction=0.2) + reach("farm", "sea"))

    arrays, net = run_tiny(basin(tmp_path / "support", True), [[0.0]], start="2001-07")
    res, farm, sea = net.index("res"), net.index("farm"), net.index("sea")
    close(arrays["flow"][0, 0, res], 193.75)
    close(arrays["reach_loss"][0, 0, res], 38.75)
    close(arrays["withdrawal"][0, 0, farm], 155.0)
    close(arrays["shortfall"][0, 0, farm], 0.0)
    close(arrays["storage"][0, 0, res], 306.25)
    close(arrays["inflow"][0, 0, sea], 0.0)

    arrays, net = run_tiny(basin(tmp_path / "plain", False), [[0.0]], start="2001-07")
    close(arrays["flow"][0, 0, net.index("res")], 0.0)
    close(arrays["withdrawal"][0, 0, net.index("farm")], 0.0)
    close(arrays["storage"][0, 0, net.index("res")], 500.0)


def test_demand_support_through_two_lossy_reaches_and_a_canal_limit(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, 1000, dead 100, starts at 500, curve full, demand_support)
              --[loss 0.2]--> j (junction) --[loss 0.5]--> farm (offtake, 155, canal 10 m3/s) -> sea

    July 2001: farm asks min(155, 0.864 * 31) = 26.784 (the canal caps the request); the path factor is
    0.8 * 0.5 = 0.4, so res releases 26.784 / 0.4 = 66.96; farm receives 66.96 * 0.4 = 26.784 and takes it.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("res", "reservoir", capacity="1000 hm3", dead_storage="100 hm3", initial_storage="500 hm3",
                                curve="full", demand_support=True)
                         + node("j", "junction") + node("farm", "offtake", capacity="10 m3/s", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "res") + reach("res", "j", loss_fraction=0.2)
                         + reach("j", "farm", loss_fraction=0.5) + reach("farm", "sea"))
    arrays, net = run_tiny(folder, [[0.0]], start="2001-07")
    res, farm = net.index("res"), net.index("farm")
    close(arrays["flow"][0, 0, res], 66.96)
    close(arrays["inflow"][0, 0, farm], 26.784)
    close(arrays["withdrawal"][0, 0, farm], 26.784)
    close(arrays["storage"][0, 0, res], 500.0 - 66.96)


def test_demand_support_serves_a_terminal_requirement(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, 1000, dead 0, starts at 500, curve full, demand_support)
                        -> sea (terminal, requirement 1830 hm3/yr, growing_share 0.5)

    July 2001: sea requires 5 hm3/day * 31 = 155; res releases 155 although its curve says keep full.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("res", "reservoir", capacity="1000 hm3", dead_storage="0 hm3", initial_storage="500 hm3",
                                curve="full", demand_support=True)
                         + node("sea", "terminal", requirement="1830 hm3/yr", growing_share=0.5)
                         + reach("src", "res") + reach("res", "sea"))
    arrays, net = run_tiny(folder, [[0.0]], start="2001-07")
    sea = net.index("sea")
    close(arrays["requirement"][0, 0, sea], 155.0)
    close(arrays["inflow"][0, 0, sea], 155.0)
    close(arrays["storage"][0, 0, net.index("res")], 345.0)


def test_demand_support_never_draws_below_dead_storage(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, 1000, dead 100, starts at 120, curve full, demand_support)
                        -> farm (offtake, 155 in July) -> sea

    July 2001: farm asks 155, but only 120 - 100 = 20 hm3 lie above the dead storage: release 20, storage 100,
    farm takes 20 (shortfall 135). August: nothing above dead storage, release 0.
    """
    folder = write_basin(tmp_path, node("src", "inflow")
                         + node("res", "reservoir", capacity="1000 hm3", dead_storage="100 hm3", initial_storage="120 hm3",
                                curve="full", demand_support=True)
                         + node("farm", "offtake", **DEMAND_5_PER_DAY) + node("sea", "terminal")
                         + reach("src", "res") + reach("res", "farm") + reach("farm", "sea"))
    arrays, net = run_tiny(folder, [[0.0], [0.0]], start="2001-07")
    res, farm = net.index("res"), net.index("farm")
    close(arrays["flow"][0, :, res], [20.0, 0.0])
    close(arrays["storage"][0, :, res], [100.0, 100.0])
    close(arrays["withdrawal"][0, :, farm], [20.0, 0.0])
    close(arrays["shortfall"][0, :, farm], [135.0, 155.0])


def test_reservoir_releases_the_protected_flow_below_the_dam(tmp_path):
    """
        src (inflow, 0) -> res (reservoir, capacity 100, dead 10, starts at 40, curve full) --min 10 m3/s--> sea

    The curve asks to keep everything, but the reach below protects 10 m3/s = 0.864 hm3/day: July 2001 releases
    26.784 (storage 13.216); August can only release down to dead storage: 3.216 (storage 10).
    """
    body = (node("src", "inflow") + node("res", "reservoir", capacity="100 hm3", dead_storage="10 hm3",
                                          initial_storage="40 hm3", curve="full") + node("sea", "terminal")
            + reach("src", "res") + reach("res", "sea", min_flow="10 m3/s"))
    arrays, net = run_tiny(write_basin(tmp_path, body), [[0.0], [0.0]], start="2001-07")
    res = net.index("res")
    close(arrays["flow"][0, :, res], [26.784, 3.216])
    close(arrays["storage"][0, :, res], [13.216, 10.0])


# --------------------------------------------------------------------------------------------------------------
# the compiled loop checks itself every month
# --------------------------------------------------------------------------------------------------------------

def _two_member_inflows(bad_value):
    """src -> farm -> sea, 3 months, 2 members; member 1 gets `bad_value` in month 2."""
    inflows = np.full((2, 3, 1), 100.0)
    inflows[1, 2, 0] = bad_value
    return inflows


def _simulate_tiny(tmp_path, inflows):
    from hydro.allocation import make_rule
    from hydro.demand import build_demands
    from hydro.simulate import simulate
    from hydro.timeaxis import TimeAxis

    folder = write_basin(tmp_path, node("src", "inflow") + node("farm", "offtake", **DEMAND_5_PER_DAY)
                         + node("sea", "terminal") + reach("src", "farm") + reach("farm", "sea"))
    net = compile_network(load_basin(folder))
    axis = TimeAxis(np.datetime64("2001-07", "M"), 3)
    return simulate(net, inflows, build_demands(net, axis, None), axis, make_rule("upstream_first"), keep=("withdrawal",)), net


@pytest.mark.parametrize("bad, message", [(np.nan, "flow holds NaN or infinite values at node 'src', month 2, member 1"),
                                          (-5.0, r"flow is negative \(-5 hm3\) at node 'src', month 2, member 1")])
def test_the_run_checks_every_month_even_when_it_keeps_little(tmp_path, bad, message):
    """A NaN or a negative natural inflow in one member-month must stop the run naming the node, month and member,
    although the run keeps only withdrawals (the check runs inside the compiled loop, not on saved arrays)."""
    with pytest.raises(MassBalanceError, match=message):
        _simulate_tiny(tmp_path, _two_member_inflows(bad))


def test_the_run_reports_its_largest_residuals(tmp_path):
    """A clean run returns the largest residuals it met: tiny, but measured (not a constant)."""
    arrays, _ = _simulate_tiny(tmp_path, _two_member_inflows(100.0))
    assert set(arrays["balance"]) == {"max_abs_hm3", "max_rel", "basin_rel"}
    assert 0.0 <= arrays["balance"]["max_abs_hm3"] < 1e-9
