"""Reservoir operation: a monthly target-storage curve, with optional releases to serve demand downstream.

Each month, for storage S (hm3) at the start and water arriving I:

1. evaporation E = e_annual * days / 365.25 * S / capacity (the basin's evaporation+seepage figure is for a
   full reservoir; it shrinks with the storage), at most S + I;
2. the policy release R = max(S + I - E - target, 0), where target = dead + curve[month] * (capacity - dead)
   is the storage the curve asks for at the end of the month;
3. a reservoir with ``demand_support`` releases at least what the offtakes and the terminal requirement
   below it ask for this month (grossed up for reach losses on the way);
4. R is at least the protected ``min_flow`` of the reach below the dam; it never draws storage below the dead
   storage and never exceeds ``max_release``;
5. what would end above capacity spills: spill = max(S + I - E - R - capacity, 0).

The arithmetic runs compiled in the monthly loop (:func:`hydro.kernel._operate`); this module holds the curves.
"""

from __future__ import annotations

import numpy as np

from hydro.network import Network


def target_storage(network: Network, month: int) -> np.ndarray:
    """(R,) storage the curves ask for at the end of calendar month `month` (0 = January), hm3."""
    dead, cap = network.reservoir_dead, network.reservoir_capacity
    return dead + network.reservoir_curve[:, month] * (cap - dead)


def initial_storage(network: Network, start_month: int) -> np.ndarray:
    """(R,) storage at the start of the run: the basin's initial_storage, else the curve at the previous month end."""
    on_curve = target_storage(network, (start_month - 1) % 12)
    return np.where(np.isnan(network.reservoir_initial), on_curve, network.reservoir_initial)
