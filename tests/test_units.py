"""Quantities as users type them: parsing, dimensions, conversions and the errors users see."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hydro.units import (
    DAYS_PER_YEAR,
    Quantity,
    UnitError,
    hm3_to_m3s,
    m3s_to_hm3,
    parse_quantity,
)

SECONDS_PER_YEAR = DAYS_PER_YEAR * 86_400.0


# ------------------------------------------------------------------ the four canonical forms


def test_parse_discharge_m3s():
    q = parse_quantity("650 m3/s")
    assert q.dimension == "rate"
    assert q.text == "650 m3/s"
    assert q.m3s() == pytest.approx(650.0, rel=1e-12)
    assert q.value == pytest.approx(650.0 * 86_400 / 1e6, rel=1e-12)  # hm3 per day


def test_parse_annual_rate_km3_per_year():
    q = parse_quantity("10 km3/yr")
    assert q.dimension == "rate"
    assert q.km3_per_year() == pytest.approx(10.0, rel=1e-12)
    assert q.value == pytest.approx(10_000.0 / 365.25, rel=1e-12)  # hm3 per day


def test_parse_monthly_rate_hm3_per_month():
    q = parse_quantity("120 hm3/month")
    assert q.dimension == "rate"
    # 120 hm3 every month is 1440 hm3 = 1.44 km3 a year
    assert q.km3_per_year() == pytest.approx(1.44, rel=1e-12)
    assert q.value == pytest.approx(1440.0 / 365.25, rel=1e-12)


def test_parse_volume_km3():
    q = parse_quantity("6.8 km3")
    assert q.dimension == "volume"
    assert q.hm3() == pytest.approx(6800.0, rel=1e-12)


# ------------------------------------------------------------------ conversions (365.25-day year)


def test_650_m3s_is_20_51_km3_per_year():
    q = parse_quantity("650 m3/s", "rate")
    assert q.km3_per_year() == pytest.approx(650 * SECONDS_PER_YEAR / 1e9, rel=1e-12)
    assert round(q.km3_per_year(), 2) == 20.51


def test_10_km3_per_year_is_316_88_m3s():
    q = parse_quantity("10 km3/yr", "rate")
    assert q.m3s() == pytest.approx(10e9 / SECONDS_PER_YEAR, rel=1e-12)
    assert round(q.m3s(), 2) == 316.88


@pytest.mark.parametrize("m3s", [0.0, 7.5, 198.0, 650.0, 2_500.0])
def test_m3s_km3yr_round_trip(m3s):
    km3yr = parse_quantity(f"{m3s} m3/s").km3_per_year()
    back = parse_quantity(f"{km3yr!r} km3/yr").m3s()
    assert back == pytest.approx(m3s, rel=1e-12, abs=1e-12)


def test_rate_and_annual_rate_agree_in_model_units():
    """The same water written two ways gives the same hm3/day."""
    a = parse_quantity("650 m3/s")
    b = parse_quantity(f"{650 * SECONDS_PER_YEAR / 1e9!r} km3/yr")
    assert a.value == pytest.approx(b.value, rel=1e-12)


def test_hm3_per_days_and_module_helpers():
    q = parse_quantity("100 m3/s")
    days = np.array([31.0, 28.0, 30.0])
    np.testing.assert_allclose(q.hm3_per_days(days), 100 * 86_400 * days / 1e6, rtol=1e-12)
    np.testing.assert_allclose(m3s_to_hm3(100.0, days), 100 * 86_400 * days / 1e6, rtol=1e-12)
    np.testing.assert_allclose(hm3_to_m3s(m3s_to_hm3(100.0, days), days), 100.0, rtol=1e-12)


# ------------------------------------------------------------------ forms a user may type


@pytest.mark.parametrize(
    "text",
    ["650 m3/s", "650m3/s", "  650   m3/s  ", "650 M3/S", "650 m³/s", "650.0 m3/s", "6.5e2 m3/s", "6.5E2 m3/s", "+650 m3/s", "650 m3 / s"],
)
def test_forms_of_650_m3s(text):
    q = parse_quantity(text, "rate")
    assert q.m3s() == pytest.approx(650.0, rel=1e-12)
    assert q.text == text


@pytest.mark.parametrize(
    "text",
    ["10 km3/yr", "10km3/yr", "10 km3/year", "10 km3/a", "10 KM3/YR", "10 km³/yr", "10.0 km3 / yr", "1e1 km3/yr",
     "10000 hm3/yr", "10000 Mm3/yr", "10000 mm3/yr"],
)
def test_forms_of_10_km3_per_year(text):
    assert parse_quantity(text, "rate").km3_per_year() == pytest.approx(10.0, rel=1e-12)


@pytest.mark.parametrize("text", ["120 hm3/month", "120hm3/month", "120 HM3/Month", "0.12 km3/month", "120 hm³/month"])
def test_forms_of_120_hm3_per_month(text):
    assert parse_quantity(text, "rate").km3_per_year() == pytest.approx(1.44, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["6.8 km3", "6.8km3", "6.8 KM3", "6.8 km³", "6800 hm3", "6800 Mm3", "6800 million m3", "6.8e9 m3", "6800 hm³", " 6.8 km3 "],
)
def test_forms_of_6_8_km3(text):
    assert parse_quantity(text, "volume").hm3() == pytest.approx(6800.0, rel=1e-12)


@pytest.mark.parametrize("text,hm3_per_day", [("1 hm3/day", 1.0), ("86.4 m3/s", 7.46496), (".5 km3/yr", 500 / 365.25)])
def test_other_rates(text, hm3_per_day):
    assert parse_quantity(text, "rate").value == pytest.approx(hm3_per_day, rel=1e-12)


@pytest.mark.parametrize("value", [0.25, 1, 0])
def test_bare_numbers_are_numbers(value):
    q = parse_quantity(value, "number")
    assert q == Quantity(float(value), "number", str(value))
    assert parse_quantity(value).dimension == "number"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("text,unit", [("650 m3/sec", "m3/sec"), ("650 cumecs", "cumecs"), ("10 km3/week", "km3/week"), ("6.8 l", "l"), ("650 cfs", "cfs")])
def test_unknown_unit_lists_known_units(text, unit):
    with pytest.raises(UnitError, match=re.escape(f"unit {unit!r} in {text!r} is not known")) as info:
        parse_quantity(text, "rate")
    msg = str(info.value)
    assert "known units:" in msg
    for known in ("m3/s", "km3/yr", "hm3/month", "km3", "hm3"):
        assert repr(known) in msg


@pytest.mark.parametrize(
    "text,dimension,found",
    [("6 km3", "rate", "volume"), ("6800 hm3", "rate", "volume"), ("650 m3/s", "volume", "rate"), ("10 km3/yr", "volume", "rate")],
)
def test_wrong_dimension(text, dimension, found):
    with pytest.raises(UnitError, match=re.escape(f"{text!r} is a {found}, expected a {dimension} such as")):
        parse_quantity(text, dimension)


def test_wrong_dimension_names_an_example_rate():
    with pytest.raises(UnitError, match=re.escape("'6 km3' is a volume, expected a rate such as '650 m3/s' or '6 km3/yr'")):
        parse_quantity("6 km3", "rate")


def test_quantity_accessors_check_dimension():
    vol = parse_quantity("6 km3")
    with pytest.raises(UnitError, match=re.escape("'6 km3' is a volume, expected a rate")):
        vol.km3_per_year()
    with pytest.raises(UnitError, match=re.escape("'6 km3' is a volume, expected a rate")):
        vol.m3s()
    with pytest.raises(UnitError, match=re.escape("'650 m3/s' is a rate, expected a volume")):
        parse_quantity("650 m3/s").hm3()


@pytest.mark.parametrize("text", ["", "m3/s", "six km3", "650", "abc", "- 5 km3", "650 000 m3/s"])
def test_text_that_does_not_parse(text):
    with pytest.raises(UnitError, match=re.escape(f"{text!r} does not parse; expected '<number> <unit>'")):
        parse_quantity(text, "rate")


@pytest.mark.parametrize("text", ["6,8 km3", "1,000 m3/s"])
def test_decimal_comma_and_thousands_separators_are_rejected_not_misread(text):
    """'6,8 km3' must not silently become 6 or 8 of something."""
    with pytest.raises(UnitError, match=re.escape(f"in {text!r} is not known; known units:")):
        parse_quantity(text)


@pytest.mark.parametrize("value", [650, 6.8])
def test_number_without_unit_where_a_quantity_is_expected(value):
    with pytest.raises(UnitError, match=re.escape(f"{value!r} has no unit; expected a rate such as '650 m3/s'")):
        parse_quantity(value, "rate")


@pytest.mark.parametrize("value", [True, None, [650, "m3/s"]])
def test_non_quantities(value):
    with pytest.raises(UnitError, match="is not a quantity"):
        parse_quantity(value, "rate")
