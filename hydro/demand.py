"""Monthly demands of offtakes and requirements of terminals, with the run's Qosh Tepa settings applied.

Offtake demand: the annual volume of the basin file, `growing_share` of it in April-September and the rest in
October-March, spread by days within each season; less a filling's share of its state's limit while a reservoir
fills from it (:func:`hydro.reservoirs.demand_factor`). Qosh Tepa: the run's annual target on the run's monthly
pattern, nothing before its start month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hydro.hydrology import MEAN_DAYS
from hydro.network import Network
from hydro.reservoirs import demand_factor
from hydro.scenario import QoshTepa
from hydro.timeaxis import TimeAxis, seasonal_volumes
from hydro.units import m3s_to_hm3


@dataclass
class Demands:
    """What is asked for: offtake demand (T, K) and terminal requirement (T, J), hm3 per month; capacity (K,)
    hm3/day; annual (K,) each offtake's annual demand in hm3/yr (Qosh Tepa's: the run's target)."""

    offtake: np.ndarray
    terminal: np.ndarray
    capacity: np.ndarray
    conveyance_loss: np.ndarray
    annual: np.ndarray


def qosh_tepa_monthly(qt: QoshTepa, network: Network, axis: TimeAxis) -> np.ndarray:
    """Qosh Tepa's monthly target (T,) in hm3 from the run's annual target and pattern."""
    annual = qt.withdrawal_km3 * 1000.0
    if qt.pattern == "seasonal":
        k = network.qosh_tepa
        share = network.offtake_growing_share[k] if k is not None else 0.5
        monthly = seasonal_volumes([annual], [share], axis)[:, 0]
    elif qt.pattern == "uniform":
        monthly = annual * axis.days / 365.25
    else:
        if qt.pattern == "kerki":
            weights = network.basin.regimes["kerki"] * MEAN_DAYS
        else:
            weights = np.asarray(qt.pattern, dtype=float)
        monthly = annual * (weights / weights.sum())[axis.calendar_month]
    if qt.start is not None:
        monthly = np.where(axis.month_starts >= qt.start, monthly, 0.0)
    if qt.build_out:
        monthly = monthly * build_out_share(qt.build_out, axis)
    return monthly


def build_out_share(build_out: list, axis: TimeAxis) -> np.ndarray:
    """The share of Qosh Tepa's annual target the canal can take in each month (T,): linear in time between the
    (month, share) points of ``qosh_tepa.build_out``, flat before the first and after the last."""
    months = np.array([m.astype(int) for m, _ in build_out], dtype=float)
    shares = np.array([share for _, share in build_out], dtype=float)
    return np.interp(axis.month_starts.astype(int).astype(float), months, shares)


def build_demands(network: Network, axis: TimeAxis, qt: QoshTepa | None) -> Demands:
    """Monthly demands for every offtake and requirements for every terminal of `network` over `axis`."""
    offtake = seasonal_volumes(network.offtake_demand_annual, network.offtake_growing_share, axis)
    offtake = offtake * demand_factor(network, axis)  # a reservoir filled from its state's limit (hydro.reservoirs)
    terminal = seasonal_volumes(network.terminal_requirement_annual, network.terminal_growing_share, axis)
    capacity = network.offtake_capacity.copy()
    conveyance = network.offtake_conveyance_loss.copy()
    annual = network.offtake_demand_annual.copy()
    k = network.qosh_tepa
    if qt is not None and k is not None:
        offtake[:, k] = qosh_tepa_monthly(qt, network, axis)
        annual[k] = qt.withdrawal_km3 * 1000.0
        capacity[k] = m3s_to_hm3(qt.capacity_m3s, 1.0)
        conveyance[k] = qt.conveyance_loss
    return Demands(offtake=offtake, terminal=terminal, capacity=capacity, conveyance_loss=conveyance, annual=annual)
