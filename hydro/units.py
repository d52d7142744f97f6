"""Quantities with units as users type them: "650 m3/s", "10 km3/yr", "120 hm3/month", "6.8 km3".

Inside the model every volume is hm3 (10^6 m3) and every flow is hm3 per monthly step.
Rates given per second or per year are turned into monthly volumes with the month's real length.
A year is 365.25 days where a rate must be turned into an annual volume (m3/s <-> km3/yr).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.25
HM3_PER_KM3 = 1_000.0

# unit -> (dimension, factor to the base unit of that dimension)
# volume base: hm3; rate base: hm3 per day
_UNITS = {
    "m3": ("volume", 1e-6),
    "hm3": ("volume", 1.0),
    "mm3": ("volume", 1.0),  # million m3, as often written "Mm3"
    "km3": ("volume", HM3_PER_KM3),
    "m3/s": ("rate", SECONDS_PER_DAY * 1e-6),
    "hm3/day": ("rate", 1.0),
    "hm3/month": ("rate", 12.0 / DAYS_PER_YEAR),
    "hm3/yr": ("rate", 1.0 / DAYS_PER_YEAR),
    "mm3/yr": ("rate", 1.0 / DAYS_PER_YEAR),
    "km3/month": ("rate", HM3_PER_KM3 * 12.0 / DAYS_PER_YEAR),
    "km3/yr": ("rate", HM3_PER_KM3 / DAYS_PER_YEAR),
    "m": ("length", 1.0),  # a water level, metres above sea level (or a head, metres)
    "mw": ("power", 1.0),  # units are matched lower-case: "3000 MW"
    "gw": ("power", 1000.0),
}
_ALIASES = {"/year": "/yr", "/a": "/yr", "million m3": "hm3", "m³": "m3", "km³": "km3", "hm³": "hm3"}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)\s*$")


class UnitError(ValueError):
    """A quantity string that does not parse or has the wrong dimension."""


@dataclass(frozen=True)
class Quantity:
    """A number with a dimension: volume in hm3, or rate in hm3 per day."""

    value: float
    dimension: str  # "volume" | "rate" | "number"
    text: str

    def hm3(self) -> float:
        """The volume in hm3 (dimension 'volume' only)."""
        self._need("volume")
        return self.value

    def km3_per_year(self) -> float:
        """The rate as km3 per year of 365.25 days."""
        self._need("rate")
        return self.value * DAYS_PER_YEAR / HM3_PER_KM3

    def m3s(self) -> float:
        """The rate in m3/s."""
        self._need("rate")
        return self.value / (SECONDS_PER_DAY * 1e-6)

    def hm3_per_days(self, days):
        """The volume flowing at this rate over `days` days, in hm3 (works on arrays)."""
        self._need("rate")
        return self.value * days

    def _need(self, dimension: str) -> None:
        if self.dimension != dimension:
            raise UnitError(f"{self.text!r} is a {self.dimension}, expected a {dimension}")


def _normalise_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "")
    for a, b in _ALIASES.items():
        u = u.replace(a.replace(" ", ""), b)
    return u


def parse_quantity(text, dimension: str | None = None) -> Quantity:
    """Parse "650 m3/s" or "6.8 km3" (or a bare number for dimension 'number').

    Raises :class:`UnitError` with the accepted units when the text does not parse, or when the
    dimension is not the one asked for.
    """
    if isinstance(text, bool):
        raise UnitError(f"{text!r} is not a quantity")
    if isinstance(text, (int, float)):
        if dimension in (None, "number"):
            return Quantity(float(text), "number", str(text))
        raise UnitError(f"{text!r} has no unit; expected a {dimension} such as {_example(dimension)}")
    if not isinstance(text, str):
        raise UnitError(f"{text!r} is not a quantity string")
    m = _PATTERN.match(text)
    if not m:
        raise UnitError(f"{text!r} does not parse; expected '<number> <unit>', e.g. {_example(dimension or 'rate')}")
    number, unit = float(m.group(1)), _normalise_unit(m.group(2))
    if unit not in _UNITS:
        raise UnitError(f"unit {m.group(2)!r} in {text!r} is not known; known units: {sorted(_UNITS)}")
    dim, factor = _UNITS[unit]
    if dimension not in (None, dim):
        raise UnitError(f"{text!r} is a {dim}, expected a {dimension} such as {_example(dimension)}")
    return Quantity(number * factor, dim, text)


def _example(dimension: str) -> str:
    return {"volume": "'6.8 km3'", "rate": "'650 m3/s' or '6 km3/yr'", "number": "0.25", "length": "'910 m'",
            "power": "'3000 MW'"}.get(dimension, "'650 m3/s'")


def m3s_to_hm3(q_m3s, days):
    """Discharge in m3/s held for `days` days -> volume in hm3."""
    return q_m3s * days * SECONDS_PER_DAY * 1e-6


def hm3_to_m3s(v_hm3, days):
    """Volume in hm3 over `days` days -> mean discharge in m3/s."""
    return v_hm3 / (days * SECONDS_PER_DAY * 1e-6)
