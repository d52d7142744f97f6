"""Natural inflows as an array (member, time, inflow node) in hm3 per month.

- ``climatology``: every year the mean year: each inflow node's annual flow spread over the months by its
  regime (mean monthly discharge x days, normalised to the year).
- ``series``: a CSV of monthly mean discharges in m3/s, one column per inflow node (any subset; the others
  keep the climatology) and a ``month`` column ``YYYY-MM`` covering every month of the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hydro.errors import Collector, ScenarioError, did_you_mean
from hydro.network import Network
from hydro.timeaxis import TimeAxis
from hydro.units import m3s_to_hm3

MEAN_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def regime_shares(network: Network) -> np.ndarray:
    """(n_inflow, 12) share of the annual volume falling in each calendar month."""
    rows = []
    for name in network.inflow_regime:
        q = np.ones(12) if name == "uniform" else network.basin.regimes[name]
        v = q * MEAN_DAYS
        rows.append(v / v.sum())
    return np.array(rows).reshape(len(network.inflow_regime), 12)


def climatology(network: Network, axis: TimeAxis, members: int = 1) -> np.ndarray:
    """The mean year repeated: (members, T, n_inflow) hm3."""
    shares = regime_shares(network)  # (I, 12)
    monthly = network.inflow_annual[None, :] * shares[:, axis.calendar_month].T  # (T, I)
    return np.broadcast_to(monthly, (members, *monthly.shape)).copy()


def read_series(path: str | Path, network: Network, axis: TimeAxis, members: int = 1) -> np.ndarray:
    """Monthly inflows from a CSV (m3/s); columns not given keep the climatology. (members, T, n_inflow) hm3."""
    path = Path(path)
    problems = Collector(path)
    if not path.is_file():
        problems.add("<file>", str(path), "a CSV of monthly inflows in m3/s with a 'month' column (YYYY-MM)")
        raise ScenarioError(problems.problems)
    try:
        table = pd.read_csv(path, dtype={"month": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        problems.add("<csv>", str(err).splitlines()[0], "a comma-separated table with a header row")
        raise ScenarioError(problems.problems) from err
    if "month" not in table.columns:
        problems.add("<header>", list(table.columns), "a 'month' column (YYYY-MM) and one column per inflow node (m3/s)")
        raise ScenarioError(problems.problems)
    inflow_names = [network.names[i] for i in network.inflow_idx]
    for col in table.columns:
        if col != "month" and col not in inflow_names:
            problems.add(f"column {col!r}", "<unknown node>", "an inflow node: " + did_you_mean(col, inflow_names))
    months = pd.PeriodIndex(pd.to_datetime(table["month"], format="%Y-%m", errors="coerce"), freq="M")
    bad = table["month"][months.isna()]
    for row, text in bad.items():
        problems.add(f"row {row + 2}, month", text, "a month as YYYY-MM")
    dup = table["month"][table["month"].duplicated()]
    for row, text in dup.items():
        problems.add(f"row {row + 2}, month", text, "each month once")
    wanted = pd.PeriodIndex([str(m) for m in axis.month_starts], freq="M")
    missing = wanted.difference(months.dropna())
    if len(missing):
        problems.add("month", f"<{len(missing)} month{'s' if len(missing) != 1 else ''} of the run missing, the first {missing[0]}>", f"every month from {wanted[0]} to {wanted[-1]}")
    for col in table.columns:
        if col == "month" or col not in inflow_names:
            continue
        values = pd.to_numeric(table[col], errors="coerce")
        for row in values.index[~np.isfinite(values)]:
            cell = table[col][row]
            shown = "<empty>" if pd.isna(cell) else str(cell)
            problems.add(f"row {row + 2}, {col}", shown, "a finite discharge in m3/s (no gaps, NaN or inf)")
        for row in values.index[values < 0]:
            problems.add(f"row {row + 2}, {col}", float(values[row]), "a discharge >= 0 m3/s")
    if problems:
        raise ScenarioError(problems.problems)

    out = climatology(network, axis, 1)[0]
    lookup = pd.Series(np.arange(len(table)), index=months)
    rows = lookup.reindex(wanted).to_numpy()
    for col in table.columns:
        if col == "month":
            continue
        k = inflow_names.index(col)
        out[:, k] = m3s_to_hm3(table[col].to_numpy(dtype=float)[rows], axis.days)
    return np.broadcast_to(out, (members, *out.shape)).copy()
