"""Monthly time axis: calendar months with their real number of days; water year Oct-Sep; seasons.

ICWC's two seasons: growing (vegetation) April-September, non-growing October-March.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

GROWING_MONTHS = np.array([False, False, False, True, True, True, True, True, True, False, False, False])
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text) -> np.datetime64:
    """'2026-10' -> numpy datetime64 month; ValueError with the expected form otherwise."""
    m = _MONTH.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{text!r} is not a month; expected 'YYYY-MM', e.g. '2026-10'")
    return np.datetime64(f"{m.group(1)}-{m.group(2)}", "M")


@dataclass(frozen=True)
class TimeAxis:
    """`months` consecutive calendar months from `start`."""

    start: np.datetime64
    months: int

    @classmethod
    def from_years(cls, start, years: int) -> "TimeAxis":
        return cls(parse_month(start) if not isinstance(start, np.datetime64) else start, int(years) * 12)

    @property
    def month_starts(self) -> np.ndarray:
        """datetime64[M] of each step."""
        return self.start + np.arange(self.months)

    @property
    def calendar_month(self) -> np.ndarray:
        """0 = January ... 11 = December."""
        return (self.month_starts.astype(int) % 12).astype(int)

    @property
    def year(self) -> np.ndarray:
        return (self.month_starts.astype(int) // 12 + 1970).astype(int)

    @property
    def days(self) -> np.ndarray:
        """Days in each month (leap years counted)."""
        starts = self.month_starts
        return ((starts + 1).astype("datetime64[D]") - starts.astype("datetime64[D]")).astype(float)

    @property
    def water_year(self) -> np.ndarray:
        """Water year Oct-Sep, named by the year in which it ends (Oct 2026 - Sep 2027 is 2027)."""
        return self.year + (self.calendar_month >= 9)

    @property
    def growing(self) -> np.ndarray:
        return GROWING_MONTHS[self.calendar_month]

    def timestamps(self) -> np.ndarray:
        """datetime64[ns] of the first day of each month, for xarray."""
        return self.month_starts.astype("datetime64[D]").astype("datetime64[ns]")


def season_days(axis: TimeAxis) -> np.ndarray:
    """Days of the season (growing Apr-Sep or non-growing Oct-Mar) that each month belongs to."""
    days = axis.days
    out = np.empty_like(days)
    # season id: water year and growing flag
    key = axis.water_year * 2 + axis.growing
    for k in np.unique(key):
        sel = key == k
        # a season cut by the start or end of the run still counts its full length
        wy, grow = divmod(int(k), 2)
        if grow:
            full = 183.0  # Apr 30 + May 31 + Jun 30 + Jul 31 + Aug 31 + Sep 30
        else:
            feb_year = wy  # Feb of water year wy falls in calendar year wy
            leap = (feb_year % 4 == 0 and feb_year % 100 != 0) or feb_year % 400 == 0
            full = 182.0 + leap
        out[sel] = full
    return out


def seasonal_volumes(annual_hm3, growing_share, axis: TimeAxis) -> np.ndarray:
    """Spread annual volumes over months: `growing_share` in Apr-Sep, the rest in Oct-Mar, by days within each.

    annual_hm3, growing_share: arrays (K,). Returns (T, K) hm3 per month.
    """
    annual_hm3 = np.asarray(annual_hm3, dtype=float)
    growing_share = np.asarray(growing_share, dtype=float)
    days = axis.days[:, None]
    share = np.where(axis.growing[:, None], growing_share[None, :], 1.0 - growing_share[None, :])
    return annual_hm3[None, :] * share * days / season_days(axis)[:, None]
