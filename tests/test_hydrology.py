"""Natural inflows: the climatology keeps each node's annual volume and its regime; series CSVs are read or refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hydro.errors import ScenarioError
from hydro.hydrology import MEAN_DAYS, climatology, read_series, regime_shares
from hydro.network import compile_network
from hydro.timeaxis import TimeAxis
from hydro.units import hm3_to_m3s

APR_SEP = slice(3, 9)


def one(text: str) -> str:
    return re.escape(text)


@pytest.fixture(scope="module")
def network():
    from hydro.basin import load_basin
    from tests.conftest import AMU_DARYA

    return compile_network(load_basin(AMU_DARYA))


@pytest.fixture
def axis():
    return TimeAxis(np.datetime64("2026-10", "M"), 24)  # water years 2027 and 2028 (Feb 2028 is a leap month)


def inflow_names(network) -> list[str]:
    return [network.names[i] for i in network.inflow_idx]


def months_of(axis) -> list[str]:
    return [str(m) for m in axis.month_starts]


def write_csv(tmp_path: Path, header: list[str], rows: list[list], name: str = "flows.csv") -> Path:
    path = tmp_path / name
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def series_rows(axis, k0: float = 100.0, v0: float = 500.0) -> list[list]:
    """month, kokcha, vakhsh: a discharge that changes every month."""
    return [[m, k0 + i, v0 + 3 * i] for i, m in enumerate(months_of(axis))]


# ------------------------------------------------------------------ climatology


def test_climatology_shape_and_members(network, axis):
    out = climatology(network, axis, members=3)
    assert out.shape == (3, 24, len(network.inflow_idx))
    assert np.all(out >= 0)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    out[1, 0, 0] = -1.0  # members are independent copies, not views of one array
    assert out[0, 0, 0] != -1.0


@pytest.mark.parametrize("start", ["2026-10", "2027-01", "2027-04", "2028-02"])
def test_climatology_preserves_each_annual_volume(network, start):
    ax = TimeAxis(np.datetime64(start, "M"), 36)
    out = climatology(network, ax)[0]
    names = inflow_names(network)
    for k, name in enumerate(names):
        annual_hm3 = network.basin.nodes[name].figures["annual_flow"].value * 365.25
        assert network.inflow_annual[k] == pytest.approx(annual_hm3, rel=1e-12)
        for year in range(3):
            total = out[12 * year: 12 * (year + 1), k].sum()  # any 12 consecutive months
            assert abs(total - annual_hm3) < 1e-9, (name, year, total - annual_hm3)


def test_climatology_volumes_of_named_inflows(network, axis):
    out = climatology(network, axis)[0]
    names = inflow_names(network)
    assert out[:12, names.index("kokcha")].sum() == pytest.approx(6_200.0, abs=1e-9)
    assert out[:12, names.index("vakhsh")].sum() == pytest.approx(20_000.0, abs=1e-9)
    # sherabad is written as 7.5 m3/s: 7.5 * 365.25 * 86400 m3
    assert out[:12, names.index("sherabad")].sum() == pytest.approx(7.5 * 365.25 * 86_400 / 1e6, abs=1e-9)


def test_kokcha_regime_apr_sep_share(network, axis):
    names = inflow_names(network)
    shares = regime_shares(network)
    assert shares.shape == (len(names), 12)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    k = names.index("kokcha")
    assert network.inflow_regime[k] == "kokcha"
    assert shares[k, APR_SEP].sum() == pytest.approx(0.799, abs=5e-4)
    # the same share in the generated months (Apr-Sep of water year 2027)
    out = climatology(network, axis)[0]
    growing = axis.growing[:12]
    assert out[:12, k][growing].sum() / out[:12, k].sum() == pytest.approx(0.799, abs=5e-4)


def test_regime_shares_follow_the_regime_csv(network):
    """Monthly volume shares are mean discharge x mean days, normalised."""
    names = inflow_names(network)
    q = network.basin.regimes["kokcha"]
    v = q * MEAN_DAYS
    np.testing.assert_allclose(regime_shares(network)[names.index("kokcha")], v / v.sum(), rtol=1e-12)
    assert MEAN_DAYS.sum() == pytest.approx(365.25)


def test_every_node_sharing_a_regime_has_the_same_shape(network):
    shares = regime_shares(network)
    by_regime: dict[str, np.ndarray] = {}
    for k, regime in enumerate(network.inflow_regime):
        if regime in by_regime:
            np.testing.assert_allclose(shares[k], by_regime[regime], rtol=1e-12)
        by_regime[regime] = shares[k]


def test_uniform_regime_spreads_by_days(tmp_path):
    from hydro.basin import load_basin
    from tests.conftest import write_basin

    folder = write_basin(tmp_path / "u", """
        [[node]]
        name = "src"
        kind = "inflow"
        regime = "uniform"
        annual_flow = { value = "365.25 hm3/yr", source = "T" }
        [[node]]
        name = "sea"
        kind = "terminal"
        [[reach]]
        from = "src"
        to = "sea"
    """)
    net = compile_network(load_basin(folder))
    ax = TimeAxis(np.datetime64("2027-01", "M"), 12)
    out = climatology(net, ax)[0, :, 0]
    np.testing.assert_allclose(out, MEAN_DAYS, rtol=1e-12)  # 1 hm3 a day


# ------------------------------------------------------------------ series


def test_read_series_round_trip_for_a_subset_of_nodes(tmp_path, network, axis):
    rows = series_rows(axis)
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    out = read_series(path, network, axis, members=2)
    clim = climatology(network, axis)[0]
    names = inflow_names(network)
    assert out.shape == (2, 24, len(names))
    np.testing.assert_array_equal(out[0], out[1])
    for col, name in ((1, "kokcha"), (2, "vakhsh")):
        k = names.index(name)
        m3s = np.array([row[col] for row in rows], dtype=float)
        np.testing.assert_allclose(out[0, :, k], m3s * axis.days * 86_400 / 1e6, rtol=1e-12)
        np.testing.assert_allclose(hm3_to_m3s(out[0, :, k], axis.days), m3s, rtol=1e-12)
    for name in set(names) - {"kokcha", "vakhsh"}:
        k = names.index(name)
        np.testing.assert_array_equal(out[0, :, k], clim[:, k])


def test_read_series_uses_real_days_including_leap_february(tmp_path, network, axis):
    rows = [[m, 100.0, 100.0] for m in months_of(axis)]
    out = read_series(write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows), network, axis)[0]
    k = inflow_names(network).index("kokcha")
    feb_2027, feb_2028 = months_of(axis).index("2027-02"), months_of(axis).index("2028-02")
    assert out[feb_2027, k] == pytest.approx(100 * 28 * 0.0864)
    assert out[feb_2028, k] == pytest.approx(100 * 29 * 0.0864)


def test_read_series_rows_in_any_order_and_extra_months(tmp_path, network, axis):
    rows = series_rows(axis)
    extra = [["2026-0%d" % m, 1.0, 1.0] for m in range(1, 10)] + [["2030-01", 1.0, 1.0]]
    shuffled = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], extra + rows[::-1], "shuffled.csv")
    plain = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows, "plain.csv")
    np.testing.assert_array_equal(read_series(shuffled, network, axis), read_series(plain, network, axis))


def test_read_series_with_only_a_month_column_is_the_climatology(tmp_path, network, axis):
    path = write_csv(tmp_path, ["month"], [[m] for m in months_of(axis)])
    np.testing.assert_array_equal(read_series(path, network, axis), climatology(network, axis))


def test_series_error_unknown_column(tmp_path, network, axis):
    path = write_csv(tmp_path, ["month", "kokha", "vakhsh"], series_rows(axis))
    with pytest.raises(ScenarioError, match=one(f"{path}: column 'kokha': found <unknown node>, expected an inflow node: one of [")) as info:
        read_series(path, network, axis)
    assert "(did you mean 'kokcha'?)" in str(info.value)
    assert len(info.value.problems) == 1


def test_series_error_non_inflow_node_column(tmp_path, network, axis):
    path = write_csv(tmp_path, ["month", "kerki"], [[m, 1000] for m in months_of(axis)])
    with pytest.raises(ScenarioError, match=one(f"{path}: column 'kerki': found <unknown node>, expected an inflow node")):
        read_series(path, network, axis)


@pytest.mark.parametrize("cell", ["", "NaN", "nan", "n/a", "abc"])
def test_series_error_gap_or_nan(tmp_path, network, axis, cell):
    rows = series_rows(axis)
    rows[3][1] = cell
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: row 5, kokcha: found ")) as info:
        read_series(path, network, axis)
    assert "expected a finite discharge in m3/s (no gaps, NaN or inf)" in str(info.value)
    assert len(info.value.problems) == 1


def test_series_gap_message_shows_the_cell_not_a_numpy_repr(tmp_path, network, axis):
    rows = series_rows(axis)
    rows[3][1] = ""
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError) as info:
        read_series(path, network, axis)
    assert "np.float64" not in str(info.value)


def test_series_error_negative_value(tmp_path, network, axis):
    rows = series_rows(axis)
    rows[3][2] = -5
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: row 5, vakhsh: found -5.0, expected a discharge >= 0 m3/s")):
        read_series(path, network, axis)


def test_series_error_duplicate_month(tmp_path, network, axis):
    rows = series_rows(axis)
    rows.append(list(rows[5]))
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: row 26, month: found '2027-03', expected each month once")) as info:
        read_series(path, network, axis)
    assert len(info.value.problems) == 1


def test_series_error_missing_months(tmp_path, network, axis):
    rows = series_rows(axis)
    del rows[10:12]  # 2027-08 and 2027-09
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: month: found <2 months of the run missing, the first 2027-08>, expected every month from 2026-10 to 2028-09")):
        read_series(path, network, axis)


def test_series_error_series_shorter_than_the_run(tmp_path, network, axis):
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], series_rows(axis)[:12])
    with pytest.raises(ScenarioError, match=one("found <12 months of the run missing, the first 2027-10>, expected every month from 2026-10 to 2028-09")):
        read_series(path, network, axis)


@pytest.mark.parametrize("text", ["Jan 2027", "2027-13", "2027/01", "2027-01-01", "January"])
def test_series_error_bad_month_text(tmp_path, network, axis, text):
    rows = series_rows(axis)
    assert rows[3][0] == "2027-01"
    rows[3][0] = text
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: row 5, month: found {text!r}, expected a month as YYYY-MM")) as info:
        read_series(path, network, axis)
    # and, as that row does not count, January 2027 is missing
    assert "month: found <1 month of the run missing, the first 2027-01>" in str(info.value)


def test_series_error_no_month_column(tmp_path, network, axis):
    path = write_csv(tmp_path, ["date", "kokcha", "vakhsh"], series_rows(axis))
    with pytest.raises(ScenarioError, match=one(f"{path}: <header>: found ['date', 'kokcha', 'vakhsh'], expected a 'month' column (YYYY-MM)")):
        read_series(path, network, axis)


def test_series_error_empty_file(tmp_path, network, axis):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ScenarioError, match=one(f"{path}: <csv>: found 'No columns to parse from file', expected a comma-separated table with a header row")):
        read_series(path, network, axis)


def test_series_error_missing_file(tmp_path, network, axis):
    path = tmp_path / "nope.csv"
    with pytest.raises(ScenarioError, match=one(f"{path}: <file>: found {str(path)!r}, expected a CSV of monthly inflows in m3/s")):
        read_series(path, network, axis)


def test_series_reports_every_problem_at_once(tmp_path, network, axis):
    rows = series_rows(axis)
    rows[0][1] = -1
    rows[1][2] = ""
    rows[2][0] = "2026-13"
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh", "kunduzz"], [r + [1] for r in rows])
    with pytest.raises(ScenarioError) as info:
        read_series(path, network, axis)
    keys = [p.key for p in info.value.problems]
    assert sorted(keys) == sorted(["column 'kunduzz'", "row 4, month", "month", "row 3, vakhsh", "row 2, kokcha"])
    assert all(p.file == str(path) for p in info.value.problems)


def test_series_run_end_to_end(tmp_path):
    """A run file with hydrology.kind = 'series' reads the CSV beside it."""
    from hydro.runner import prepare
    from hydro.scenario import load_scenario
    from tests.conftest import AMU_DARYA

    ax = TimeAxis(np.datetime64("2026-10", "M"), 24)
    write_csv(tmp_path, ["month", "kokcha"], [[m, 200.0] for m in months_of(ax)])
    run = tmp_path / "run.toml"
    run.write_text(f'format_version = 1\nbasin = "{AMU_DARYA.as_posix()}"\n[time]\nstart = "2026-10"\nyears = 2\n'
                   '[hydrology]\nkind = "series"\nseries = "flows.csv"\nmembers = 2\n', encoding="utf-8")
    inputs = prepare(load_scenario(run))
    k = inflow_names(inputs.network).index("kokcha")
    assert inputs.inflows.shape[:2] == (2, 24)
    np.testing.assert_allclose(inputs.inflows[0, :, k], 200.0 * ax.days * 0.0864, rtol=1e-12)


@pytest.mark.parametrize("cell", ["inf", "1e999"])
def test_series_error_infinite_value(tmp_path, network, axis, cell):
    rows = series_rows(axis)
    rows[3][1] = cell
    path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    with pytest.raises(ScenarioError, match=one(f"{path}: row 5, kokcha: found ")):
        read_series(path, network, axis)


# ------------------------------------------------------------------ netCDF series


def write_netcdf(tmp_path: Path, times, variables: dict, name: str = "flows.nc") -> Path:
    import pandas as pd
    import xarray as xr

    ds = xr.Dataset({k: (dims, np.asarray(v, dtype=float)) for k, (dims, v) in variables.items()},
                    coords={"time": pd.DatetimeIndex(times)})
    path = tmp_path / name
    ds.to_netcdf(path)
    return path


def test_netcdf_series_gives_the_same_inflows_as_the_csv(tmp_path, network, axis):
    rows = series_rows(axis)
    csv_path = write_csv(tmp_path, ["month", "kokcha", "vakhsh"], rows)
    times = [f"{m}-01" for m in months_of(axis)]
    nc_path = write_netcdf(tmp_path, times, {"kokcha": (("time",), [r[1] for r in rows]), "vakhsh": (("time",), [r[2] for r in rows])})
    np.testing.assert_array_equal(read_series(nc_path, network, axis), read_series(csv_path, network, axis))


def test_netcdf_series_misaligned_dates(tmp_path, network, axis):
    times = [f"{m}-15" for m in months_of(axis)]
    path = write_netcdf(tmp_path, times, {"kokcha": (("time",), np.full(len(times), 100.0))})
    with pytest.raises(ScenarioError, match=one(f"{path}: time: found '") + r".*-15 00:00:00" + one("', expected month starts (YYYY-MM-01 00:00): the series is not aligned on calendar months")):
        read_series(path, network, axis)


def test_netcdf_series_variable_with_other_dimensions(tmp_path, network, axis):
    times = [f"{m}-01" for m in months_of(axis)]
    path = write_netcdf(tmp_path, times, {"flow": (("time", "station"), np.ones((len(times), 2)))})
    with pytest.raises(ScenarioError, match=one("variable 'flow': found <dims ('time', 'station')>, expected one variable per inflow node on the time dimension only")):
        read_series(path, network, axis)


def test_netcdf_series_unknown_variable_and_negative_flow(tmp_path, network, axis):
    times = [f"{m}-01" for m in months_of(axis)]
    values = np.full(len(times), 100.0)
    values[3] = -5.0
    path = write_netcdf(tmp_path, times, {"vaksh": (("time",), np.ones(len(times))), "kokcha": (("time",), values)})
    with pytest.raises(ScenarioError) as info:
        read_series(path, network, axis)
    text = str(info.value)
    assert "column 'vaksh': found <unknown node>, expected an inflow node: " in text and "(did you mean 'vakhsh'?)" in text
    assert "row 5, kokcha: found -5.0, expected a discharge >= 0 m3/s" in text
