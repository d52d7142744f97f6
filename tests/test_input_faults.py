"""Bad basin, run and series inputs end in one clear problem line (file, key, found, expected), never in a
traceback or a silently wrong number; and the basin graph checks stay linear in the number of nodes."""

from __future__ import annotations

import textwrap
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from hydro.basin import load_basin
from hydro.cli import main
from hydro.errors import BasinError, ScenarioError
from hydro.network import compile_network, topological_order
from hydro.scenario import load_scenario
from tests.conftest import RUNS, node, reach, tiny_basin, write_basin

FARM = {"demand": "0.5 km3/yr", "growing_share": 0.7}


def one_error(capsys, command: str, *fragments: str) -> str:
    """The single stderr line of a failed command, checked for `fragments`; nothing on stdout, no traceback."""
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hydro {command}: error: "), err
    assert "Traceback" not in err and out == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def run_file(folder: Path, body: str, name: str = "run.toml", basin: str = "basin") -> Path:
    """A run file in `folder` on the basin folder `basin` beside it: format_version, basin, then `body`."""
    path = folder / name
    path.write_text(f'format_version = 1\nbasin = "{basin}"\n' + textwrap.dedent(body), encoding="utf-8")
    return path


# ------------------------------------------------------------------ 1. graph checks linear in nodes + reaches


def chain(n: int) -> str:
    """A basin body of `n` nodes in one chain: src (inflow) -> j0 ... j(n-4) (junctions) -> farm (offtake) -> sea."""
    names = ["src", *[f"j{i}" for i in range(n - 3)], "farm", "sea"]
    parts = [node("src", "inflow"), *(node(x, "junction") for x in names[1:-2]), node("farm", "offtake", **FARM), node("sea", "terminal")]
    return "".join(parts) + "".join(reach(a, b) for a, b in pairwise(names))


def test_10000_node_chain_validates_and_compiles(tmp_path, capsys):
    folder = write_basin(tmp_path / "chain", chain(10_000))
    basin = load_basin(folder)
    network = compile_network(basin)
    assert network.n == 10_000
    assert network.names[0] == "src" and network.names[-1] == "sea"
    assert list(network.downstream[:-1]) == list(range(1, 10_000)) and network.downstream[-1] == -1
    assert len(network.upstream_of("sea")) == 9_999
    assert main(["validate", str(folder)]) == 0
    assert "10000 nodes" in capsys.readouterr().out


def test_long_chain_cycle_and_bad_return_still_reported(tmp_path):
    body = chain(3_000).replace('[[reach]]\nfrom = "j2996"\nto = "farm"\n', '[[reach]]\nfrom = "j2996"\nto = "j5"\n')
    body += node("farm2", "offtake", **FARM, return_fraction=0.1, return_to="j0") + node("sea2", "terminal")
    body = body.replace(node("farm", "offtake", **FARM), "").replace('[[reach]]\nfrom = "farm"\nto = "sea"\n', "")
    folder = write_basin(tmp_path / "cycle", body + reach("src", "farm2") + reach("farm2", "sea"))
    # src feeds both j0 and farm2: two reaches leave it
    with pytest.raises(BasinError, match="node 'src': found \"2 reaches leaving it"):
        load_basin(folder)
    folder = write_basin(tmp_path / "cycle2", chain(3_000).replace('to = "farm"\n', 'to = "j5"\n', 1)
                         .replace(node("farm", "offtake", **FARM), "").replace('[[reach]]\nfrom = "farm"\nto = "sea"\n', "")
                         + node("top", "inflow") + node("farm", "offtake", **FARM, return_fraction=0.1, return_to="src") + reach("top", "farm") + reach("farm", "sea"))
    with pytest.raises(BasinError) as info:
        load_basin(folder)
    cycle = " -> ".join(["j5", *(f"j{i}" for i in range(6, 2997)), "j5"])
    assert [str(p) for p in info.value.problems] == [f"{folder / 'basin.toml'}: reach: found {cycle!r}, expected no cycle: water must flow to a terminal"]


def test_return_flow_upstream_in_a_long_chain_refused(tmp_path):
    body = chain(2_000).replace(node("farm", "offtake", **FARM), node("farm", "offtake", **FARM, return_fraction=0.2, return_to="j10"))
    with pytest.raises(BasinError) as info:
        load_basin(write_basin(tmp_path / "b", body))
    assert [p.key for p in info.value.problems] == ["node 'farm'.return_to"]
    assert "a terminal or a node downstream of the offtake" in info.value.problems[0].expected
    ok = chain(2_000).replace(node("j1990", "junction"), node("j1990", "offtake", **FARM, return_fraction=0.2, return_to="farm"))
    basin = load_basin(write_basin(tmp_path / "ok", ok))
    order = topological_order(basin)
    assert order.index("j1990") < order.index("farm")


# ------------------------------------------------------------------ 2. a basin with no offtake on its way to a terminal


def test_basin_without_offtake_refused_by_run_file(tmp_path, capsys):
    write_basin(tmp_path / "basin", node("src", "inflow") + node("sea", "terminal") + reach("src", "sea"))
    run = run_file(tmp_path, '[time]\nstart = "2001-01"\nyears = 1\n')
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{run}: basin: found <basin: no offtake node>, expected a basin with at least one offtake node")
    assert not (tmp_path / "out").exists()
    assert main(["validate", str(run)]) == 2
    one_error(capsys, "validate", "no offtake node")


def test_branch_without_offtake_runs(tmp_path, capsys):
    """src -> farm -> sea and src2 -> sea2 (no offtake on that branch): sea2 receives src2's water, every month."""
    write_basin(tmp_path / "basin", node("src", "inflow") + node("farm", "offtake", **FARM) + node("sea", "terminal")
                + node("src2", "inflow", annual_flow="2 km3/yr") + node("sea2", "terminal")
                + reach("src", "farm") + reach("farm", "sea") + reach("src2", "sea2"))
    run = run_file(tmp_path, '[time]\nstart = "2001-01"\nyears = 1\n')
    from hydro.runner import run_scenario

    ds = run_scenario(load_scenario(run))
    natural = ds.natural_inflow.sel(node="src2").values
    np.testing.assert_allclose(ds.inflow.sel(node="sea2").values, natural)
    assert np.isclose(natural.sum(), 2000.0 * 365 / 365.25, rtol=1e-3)  # 2 km3/yr over a 365-day year
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 0


# ------------------------------------------------------------------ 3. TOML nested too deeply


DEEP_ARRAY = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_DOTTED = "x" + ".y" * 5_000 + " = 1\n"


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_DOTTED], ids=["array", "dotted"])
def test_run_file_nested_too_deeply(tmp_path, capsys, text):
    run = tmp_path / "deep.toml"
    run.write_text(text, encoding="utf-8")
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{run}: <toml>: found <nested too deeply>, expected a TOML file nested at most 50 levels deep")


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_DOTTED.replace("x", "name")], ids=["array", "dotted"])
def test_basin_file_nested_too_deeply(tmp_path, capsys, text):
    folder = write_basin(tmp_path / "b", tiny_basin())
    (folder / "basin.toml").write_text("format_version = 1\n" + text, encoding="utf-8")
    assert main(["validate", str(folder)]) == 2
    one_error(capsys, "validate", f"{folder / 'basin.toml'}: <toml>: found <nested too deeply>, expected a TOML file nested at most 50")
    (folder / "basin.toml").write_text("format_version = 1\n" + tiny_basin(), encoding="utf-8")
    (folder / "sources.toml").write_text(text, encoding="utf-8")
    with pytest.raises(BasinError, match="sources.toml: <toml>: found <nested too deeply>"):
        load_basin(folder)


def test_set_value_nested_too_deeply(tmp_path, capsys):
    deep = "[" * 100_000
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", f"time.years={deep}", "--out", str(tmp_path / "o")]) == 2
    one_error(capsys, "run", "<command line>: --set time.years: found <nested too deeply>, expected a TOML value nested at most 50 levels deep")


def test_leverage_file_nested_too_deeply(tmp_path):
    from hydro.leverage import LeverageError, load_leverage

    path = tmp_path / "leverage.toml"
    for text in (DEEP_ARRAY, DEEP_DOTTED):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(LeverageError) as info:
            load_leverage(path)
        assert [str(p) for p in info.value.problems] == [f"{path}: <toml>: found <nested too deeply>, expected a TOML file nested at most 50 levels deep (arrays, tables and dotted keys)"]


# ------------------------------------------------------------------ 4. TeX-like text in a run's title


TEX_TITLE = r"cost $x^{2 $ \frac"


def test_tex_like_title_drawn_literally(tmp_path, capsys):
    write_basin(tmp_path / "basin", tiny_basin())
    run = run_file(tmp_path, 'title = "cost $x^{2 $ \\\\frac"\n[time]\nstart = "2001-01"\nyears = 2\n')
    assert load_scenario(run).title == TEX_TITLE
    out = tmp_path / "out"
    assert main(["run", str(run), "--out", str(out)]) == 0
    assert (out / "shortfall.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["chart", "--kind", "shortfall", "--out", str(out / "shortfall.svg"), str(out / "results.nc")]) == 0
    svg = (out / "shortfall.svg").read_text(encoding="utf-8")
    assert TEX_TITLE in svg  # drawn as written (matplotlib keeps the text in a comment beside its glyphs)


def test_tex_like_province_and_lone_dollar_drawn(tmp_path):
    import xarray as xr

    from hydro import charts
    from hydro.runner import run_scenario

    write_basin(tmp_path / "basin", tiny_basin().replace('state = "UZB"', 'state = "UZB"\nprovince = "$\\\\alpha$ and $"'))
    ds = run_scenario(load_scenario(run_file(tmp_path, 'title = "a lone $ dollar"\n[time]\nstart = "2001-01"\nyears = 2\n')))
    assert isinstance(ds, xr.Dataset)
    charts.save(charts.shortfall_figure(ds, "$\\frac{"), tmp_path / "a.png")
    ax = charts.shortfall_heatmap(ds)
    charts.save(ax.figure, tmp_path / "b.svg", "svg")
    assert "$\\alpha$ and $" in (tmp_path / "b.svg").read_text(encoding="utf-8")


# ------------------------------------------------------------------ 5. netCDF series in non-standard calendars


def write_series_nc(path: Path, times, calendar: str = "standard", units: str = "days since 2001-01-01", values=None,
                    src_dtype: str = "f8") -> Path:
    """A netCDF series with one variable 'src' (m3/s) on `time` given as numbers in CF `units` and `calendar`."""
    import netCDF4

    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", len(times))
        t = nc.createVariable("time", "f8" if not isinstance(times[0], str) else str, ("time",))
        if units is not None:
            t.units = units
        t.calendar = calendar
        for i, x in enumerate(times):
            t[i] = x
        v = nc.createVariable("src", src_dtype, ("time",))
        for i in range(len(times)):
            v[i] = 40.0 if values is None else values[i]
    return path


def month_starts(calendar: str, n: int = 24, start: str = "2001-01-01") -> list[float]:
    """Days since 2001-01-01 of `n` successive month starts in `calendar`."""
    import cftime

    y, m = int(start[:4]), int(start[5:7])
    dates = [cftime.datetime(y + (m - 1 + k) // 12, (m - 1 + k) % 12 + 1, 1, calendar=calendar) for k in range(n)]
    return list(cftime.date2num(dates, "days since 2001-01-01", calendar))


def tiny_series_run(tmp_path: Path, series: str) -> Path:
    write_basin(tmp_path / "basin", tiny_basin())
    return run_file(tmp_path, f'[time]\nstart = "2001-01"\nyears = 2\n[hydrology]\nkind = "series"\nseries = "{series}"\n')


@pytest.mark.parametrize("calendar", ["360_day", "noleap", "365_day", "all_leap", "366_day", "julian", "proleptic_gregorian", "standard"])
def test_series_calendars_map_months(tmp_path, calendar):
    from hydro.runner import prepare

    write_series_nc(tmp_path / "flows.nc", month_starts(calendar), calendar)
    scenario = load_scenario(tiny_series_run(tmp_path, "flows.nc"))
    inputs = prepare(scenario)
    # 40 m3/s in every month, turned into volumes with the run's own (real) month lengths
    np.testing.assert_allclose(inputs.inflows[0, :, 0], 40.0 * scenario.axis.days * 0.0864, rtol=1e-12)


def test_series_calendar_refused(tmp_path, capsys):
    path = write_series_nc(tmp_path / "flows.nc", [30.0 * k for k in range(24)], "lunar")
    run = tiny_series_run(tmp_path, "flows.nc")
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: time: found <calendar 'lunar'>, expected a CF calendar whose months map to YYYY-MM: one of ['standard', ")


def test_series_time_not_datetime_like(tmp_path, capsys):
    path = write_series_nc(tmp_path / "flows.nc", list(range(24)), units=None)
    assert main(["run", str(tiny_series_run(tmp_path, "flows.nc")), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: time: found <float64 values, units None>, expected a datetime-like coordinate: numbers with CF units")


def test_series_duplicated_and_misaligned_months_360_day(tmp_path, capsys):
    times = month_starts("360_day")
    times[5] = times[4]
    path = write_series_nc(tmp_path / "flows.nc", times, "360_day")
    assert main(["run", str(tiny_series_run(tmp_path, "flows.nc")), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: time[5]: found '2001-05-01 00:00:00', expected each month once (2001-05 is given more than once)")
    times = month_starts("360_day")
    times[2] += 14
    write_series_nc(path, times, "360_day")
    assert main(["run", str(tiny_series_run(tmp_path, "flows.nc")), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: time: found '2001-03-15 00:00:00', expected month starts (YYYY-MM-01 00:00)")


def test_series_text_variable_refused(tmp_path):
    path = write_series_nc(tmp_path / "flows.nc", month_starts("noleap"), "noleap", values=["abc"] * 24, src_dtype=str)
    with pytest.raises(ScenarioError) as info:
        from hydro.runner import prepare

        prepare(load_scenario(tiny_series_run(tmp_path, "flows.nc")))
    assert [str(p) for p in info.value.problems] == [f"{path}: variable 'src': found <<U3 values>, expected monthly discharges in m3/s as numbers"]


# ------------------------------------------------------------------ 6. all-zero and degenerate inflows


def zero_flow_basin(tmp_path: Path) -> Path:
    """The tiny basin with no natural flow at all (src's annual_flow 0 km3/yr)."""
    return write_basin(tmp_path / "basin", tiny_basin().replace('"1.2 km3/yr"', '"0 km3/yr"'))


@pytest.mark.parametrize("kind", ["climatology", "stochastic", "year_type"])
def test_zero_flow_basin_years_are_dry(tmp_path, kind):
    from hydro.runner import prepare, run_scenario

    zero_flow_basin(tmp_path)
    scenario = load_scenario(run_file(tmp_path, f'[time]\nstart = "2001-01"\nyears = 3\n[hydrology]\nkind = "{kind}"\nmembers = 2\n'))
    with np.errstate(all="raise"):  # no division by the zero norm, no log of zero left unguarded
        inputs = prepare(scenario)
    assert np.all(inputs.inflows == 0.0)
    assert np.all(inputs.exceedance == 1.0) and set(inputs.year_type.ravel()) == {"dry"}
    ds = run_scenario(scenario)
    assert all(np.isfinite(ds[v].values).all() for v in ds.data_vars if ds[v].dtype.kind == "f")


def test_zero_series_years_are_dry_and_flow_in_regime_gap_is_wet(tmp_path):
    from hydro.hydrology import year_types
    from hydro.stochastic import Parameters
    from hydro.timeaxis import TimeAxis

    run = tiny_series_run(tmp_path, "zeros.csv")
    months = [f"{y}-{m:02d}" for y in (2001, 2002) for m in range(1, 13)]
    (tmp_path / "zeros.csv").write_text("month,src\n" + "".join(f"{m},0\n" for m in months), encoding="utf-8")
    from hydro.runner import prepare

    inputs = prepare(load_scenario(run))
    assert set(inputs.year_type.ravel()) == {"dry"} and np.all(inputs.exceedance == 1.0)
    # a regime with no water in Oct-Dec and a run that ends in December: that cut water year has no share
    regimes = "regime,unit,source,note,jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec\nsummer,m3/s,T,,1,1,1,1,1,1,1,1,1,0,0,0\n"
    folder = write_basin(tmp_path / "gap", "regimes = \"regimes.csv\"\n" + tiny_basin().replace('"uniform"', '"summer"'), files={"regimes.csv": regimes})
    network = compile_network(load_basin(folder))
    axis = TimeAxis(np.datetime64("2001-10", "M"), 3)
    params = Parameters.of(network)
    for oct_dec, expected in ((0.0, ("dry", 1.0)), (5.0, ("wet", 0.0))):
        flows = np.full((1, 3, 1), oct_dec)
        with np.errstate(all="raise"):
            p, kinds = year_types(flows, network, axis, params, 0.75, 0.25)
        assert (kinds[0, 0], p[0, 0]) == expected


def test_scale_zero_refused(tmp_path, capsys):
    write_basin(tmp_path / "basin", tiny_basin())
    run = run_file(tmp_path, '[time]\nstart = "2001-01"\nyears = 1\n[hydrology]\nscale = 0\n')
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{run}: hydrology.scale: found 0, expected a factor on every natural inflow, > 0")
    ok = run_file(tmp_path, '[time]\nstart = "2001-01"\nyears = 1\n', name="ok.toml")
    assert main(["run", str(ok), "--set", "hydrology.scale=0.0", "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", "<command line>: --set hydrology.scale: found 0.0, expected a factor on every natural inflow, > 0")


# ------------------------------------------------------------------ 7. found by fuzzing the loaders

REGIMES = "regime,unit,source,note,jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec\nsummer,m3/s,T,NOTE,1,1,1,1,1,1,1,1,1,1,1,1\n"
HISTORY = "year,jan_mar,apr_sep,oct_dec,source\n2001,90,80,70,SRC\n"


def table_basin(tmp_path: Path, regimes: str = REGIMES.replace("NOTE", ""), history: str = HISTORY.replace("SRC", "T")) -> Path:
    body = 'regimes = "regimes.csv"\nhistorical_years = "hist.csv"\n' + tiny_basin().replace('"uniform"', '"summer"')
    return write_basin(tmp_path / "basin", body, files={"regimes.csv": regimes, "hist.csv": history})


def test_csv_field_over_the_csv_limit(tmp_path, capsys):
    folder = table_basin(tmp_path, history=HISTORY.replace("SRC", "x" * 200_000))
    assert main(["validate", str(folder)]) == 2
    one_error(capsys, "validate", f"{folder / 'hist.csv'}: <csv>: found <field larger than field limit (131072)>, expected a comma-separated table")
    folder = table_basin(tmp_path, regimes=REGIMES.replace("NOTE", "x" * 200_000))
    with pytest.raises(BasinError) as info:
        load_basin(folder)
    assert str(info.value.problems[0]) == f"{folder / 'regimes.csv'}: <csv>: found <field larger than field limit (131072)>, expected a comma-separated table with a header row"


def test_huge_values_refused(tmp_path, capsys):
    folder = table_basin(tmp_path, regimes=REGIMES.replace("NOTE", "").replace("1,1,1,1,1,1,1,1,1,1,1,1", "1e308,1e308,1,1,1,1,1,1,1,1,1,1"))
    with pytest.raises(BasinError) as info:
        load_basin(folder)
    assert str(info.value.problems[0]).startswith(f"{folder / 'regimes.csv'}: line 2 ('summer'): found [1e+308, 1e+308, 1.0,")
    assert str(info.value.problems[0]).endswith("expected 12 values below 1e+15 (larger ones overflow the model's sums)")
    run = tiny_series_run(tmp_path / "s", "flows.csv")
    months = [f"{y}-{m:02d}" for y in (2001, 2002) for m in range(1, 13)]
    (run.parent / "flows.csv").write_text("month,src\n" + "".join(f"{m},{1e305 if m == '2001-03' else 40}\n" for m in months), encoding="utf-8")
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{run.parent / 'flows.csv'}: row 4, src: found 1e+305, expected a discharge below 1e+15 m3/s")


def test_series_not_utf8_and_unreadable(tmp_path, capsys, monkeypatch):
    import builtins

    run = tiny_series_run(tmp_path, "flows.csv")
    path = run.parent / "flows.csv"
    path.write_bytes("month,s\xe9c\n2001-01,1\n".encode("latin-1"))
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: <encoding>: found <byte 0xe9 at position ", "expected UTF-8 text")
    real_open = builtins.open

    def denied(file, *args, **kwargs):  # the tests may run as root, where chmod 000 does not stop a read
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{path}: <file>: found <Permission denied>, expected a readable CSV file of monthly inflows in m3/s")
    monkeypatch.setattr(builtins, "open", real_open)


def test_run_file_unreadable_or_a_directory(tmp_path, capsys, monkeypatch):
    import builtins

    write_basin(tmp_path / "basin", tiny_basin())
    run = run_file(tmp_path, '[time]\nstart = "2001-01"\nyears = 1\n')
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied", str(f)))
                        if str(f) == str(run) else real_open(f, *a, **k))
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{run}: <file>: found <Permission denied>, expected a readable run file (TOML)")
    assert main(["run", str(tmp_path / "basin"), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, "run", f"{tmp_path / 'basin'}: <file>: found '{tmp_path / 'basin'}', expected an existing run file (TOML)")
