"""Charts on real small runs: each draws what the metrics say (one value recomputed here from the results), with
units on its axes, a title naming the scenario, text of 8 pt or more and a figure no wider than A4 landscape."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from hydro import charts  # noqa: E402
from hydro.basin import load_basin  # noqa: E402
from hydro.comparison import compare  # noqa: E402
from hydro.metrics import state_summary  # noqa: E402
from hydro.network import compile_network  # noqa: E402
from hydro.runner import run_scenario  # noqa: E402
from hydro.scenario import load_scenario  # noqa: E402
from hydro.sweeps import open_sweep, run_sweep  # noqa: E402
from tests.conftest import AMU_DARYA, RUNS  # noqa: E402

QT = "qosh_tepa.withdrawal_km3"
SMALL = [("hydrology.members", 8), ("time.years", 3)]
LEVELS = [0, 6, 12]


def run(file: str, *overrides):
    return run_scenario(load_scenario(RUNS / file, [*SMALL, *overrides]))


@pytest.fixture(scope="module")
def ens():
    return run("ensemble.toml")


@pytest.fixture(scope="module")
def ens_without():
    return run("ensemble.toml", ("qosh_tepa.withdrawal_km3", 0.0))


@pytest.fixture(scope="module")
def network():
    return compile_network(load_basin(AMU_DARYA))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("charts") / "sweep"
    run_sweep(RUNS / "qosh_tepa_sweep.toml", [(QT, LEVELS), ("rule", ["upstream_first", "icwc_quota"])], out,
              [("hydrology.members", 6), ("time.years", 3)], workers=0, progress=False)
    ds = open_sweep(out).load()
    yield ds
    ds.close()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def meets_standards(ax, units_y: str | None = None, units_x: str | None = None) -> None:
    fig = ax.figure
    assert fig.get_figwidth() <= 11.7
    fig.canvas.draw()  # lays the text out (a too-small size would also show in a drawn label)
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 8, (text.get_text(), text.get_fontsize())
    assert ax.get_title().strip()
    if units_y:
        assert units_y in ax.get_ylabel()
    if units_x:
        assert units_x in ax.get_xlabel()


def line(ax, label: str):
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, [ln.get_label() for ln in ax.get_lines()]
    return found[0]


def state_nodes(ds, state):
    return (ds.kind == "offtake") & (ds.state == state)


# --- shortfall against the Qosh Tepa withdrawal ------------------------------------------------------------------

def test_shortfall_vs_withdrawal_median_line_and_axes(sweep):
    ax = charts.shortfall_vs_withdrawal(sweep)
    meets_standards(ax, "% of demand", "km³/yr")
    assert "Qosh Tepa sweep" in ax.get_title()
    assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= 12
    uzb = line(ax, "UZB, upstream_first")
    np.testing.assert_array_equal(uzb.get_xdata(), LEVELS)
    # recompute one point: the median over members of each member's run shortfall in % of demand
    point = sweep.sel(rule="upstream_first", **{QT: 6})
    nodes = state_nodes(point, "UZB")
    per_member = 100 * point.shortfall.where(nodes, 0).sum(("time", "node")) / point.demand.where(nodes, 0).sum(("time", "node"))
    assert uzb.get_ydata()[1] == pytest.approx(float(per_member.median()), rel=1e-5)
    assert len([ln for ln in ax.get_lines() if ln.get_label().startswith(("UZB", "TKM"))]) == 4
    # both rules: the wet-dry bands are bars beside each point, dashed for the second rule
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(bars) == 4
    secondary = [c for c in ax.child_axes]
    assert secondary and "km³/yr" in secondary[0].get_ylabel()


def test_shortfall_vs_withdrawal_one_rule_band_is_wet_to_dry_mean(sweep):
    ax = charts.shortfall_vs_withdrawal(sweep, rule="icwc_quota", states=("TKM",))
    meets_standards(ax, "%")
    assert "icwc_quota" in ax.get_title()
    assert [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")] == ["TKM"]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    expected = {kind: [state_summary(sweep.sel(rule="icwc_quota", **{QT: q}), f"{kind} years").loc["TKM", "shortfall_pct"] for q in LEVELS]
                for kind in ("dry", "wet")}
    edges = [ln.get_ydata() for ln in ax.get_lines() if ln.get_label().startswith("_")]
    for kind in ("dry", "wet"):
        assert any(np.allclose(e, expected[kind], rtol=1e-5) for e in edges), kind
    assert np.all(np.array(expected["wet"]) <= np.array(expected["dry"]))


def test_shortfall_vs_withdrawal_in_km3(sweep):
    ax = charts.shortfall_vs_withdrawal(sweep, rule="upstream_first", unit="km3")
    meets_standards(ax, "km³/yr")
    point = sweep.sel(rule="upstream_first", **{QT: 12})
    annual = point.shortfall.where(state_nodes(point, "UZB"), 0).sum(("time", "node")) / (point.sizes["time"] / 12) / 1000
    assert line(ax, "UZB").get_ydata()[-1] == pytest.approx(float(annual.median()), rel=1e-5)


def test_sweep_chart_refuses_a_dataset_without_the_sweep_dimension(ens):
    with pytest.raises(ValueError, match=QT):
        charts.shortfall_vs_withdrawal(ens)


# --- where and when: heatmap -------------------------------------------------------------------------------------

def test_shortfall_heatmap_months_by_province(ens):
    ax = charts.shortfall_heatmap(ens)
    meets_standards(ax, units_x="Oct-Sep")
    image = [im for im in ax.get_images() if isinstance(im, AxesImage)][0]
    values = image.get_array()
    n_provinces = len(set(ens.province.values[ens.kind.values == "offtake"]))
    assert values.shape == (n_provinces, 12)
    assert [t.get_text() for t in ax.get_xticklabels()] == charts.WATER_YEAR_MONTHS
    labels = [t.get_text() for t in ax.get_yticklabels()]
    row = next(i for i, label in enumerate(labels) if label.startswith("Karakalpakstan (UZB)"))
    april = ens.time.dt.month == 4
    node = ens.sel(node="karakalpakstan")
    expected = 100 * float(node.shortfall.where(april, 0).sum()) / float(node.demand.where(april, 0).sum())
    assert values[row, charts.WATER_YEAR_MONTHS.index("Apr")] == pytest.approx(expected)
    assert "%" in ax.figure.axes[-1].get_ylabel()  # the colour bar
    assert "Ensemble" in ax.get_title()


def test_one_run_charts_ask_for_a_sweep_point(sweep):
    with pytest.raises(ValueError, match="select one value of rule"):
        charts.shortfall_heatmap(sweep)
    ax = charts.shortfall_heatmap(sweep.sel(rule="icwc_quota", **{QT: 12}))
    assert "rule icwc_quota" in ax.get_title() and "12 km³/yr" in ax.get_title()


# --- the compare table -------------------------------------------------------------------------------------------

def test_rule_comparison_bars_and_figure():
    _, table = compare(RUNS / "rules_compare.toml", ["upstream_first", "kerki_split"], [0.0, 6.0],
                       [("time.years", 1), ("hydrology.scale", 0.84)])
    ax = charts.rule_comparison(table, 6.0, "all", title="Allocation rules compared")
    meets_standards(ax, "% of demand")
    assert "Allocation rules compared" in ax.get_title() and "Qosh Tepa 6 km³/yr" in ax.get_title()
    heights = [b.get_height() for b in ax.containers[0]]
    sel = table[(table.rule == "upstream_first") & (table.qosh_tepa_km3 == 6.0) & (table.period == "all")]
    assert heights == pytest.approx(list(sel.set_index("state").shortfall_pct.reindex([t.get_text() for t in ax.get_xticklabels()])))
    fig = charts.comparison_figure(table, "Allocation rules compared")
    assert fig.get_figwidth() <= 11.7 and len(fig.axes) >= 2


# --- exceedance ----------------------------------------------------------------------------------------------------

def test_shortfall_exceedance_with_and_without(ens, ens_without):
    ax = charts.shortfall_exceedance(ens, ens_without)
    meets_standards(ax, "km³/yr", "%")
    with_qt, without = line(ax, "UZB, Qosh Tepa 6 km³/yr"), line(ax, "UZB, without Qosh Tepa")
    assert with_qt.get_linestyle() == "-" and without.get_linestyle() == "--"
    nodes = state_nodes(ens, "UZB")
    annual = ens.shortfall.where(nodes, 0).sum("node").groupby("water_year").sum("time") / 1000
    expected = np.sort(annual.values.ravel())[::-1]
    assert expected.size == 8 * 2  # 3 years, the first a warm-up left out
    np.testing.assert_allclose(with_qt.get_ydata(), expected, rtol=1e-12)
    x = with_qt.get_xdata()
    assert 0 < x[0] < x[-1] < 100 and x[0] == pytest.approx(100 / 17)
    assert {ln.get_color() for ln in ax.get_lines() if ln.get_label().startswith("TKM")} == {charts.STATE_COLOURS["TKM"]}
    assert len(ax.get_lines()) == 4


# --- the network ---------------------------------------------------------------------------------------------------

def test_network_helpers(network):
    edges = charts.network_edges(network)
    assert len(edges) == len(network.basin.reaches)
    assert edges["tuyamuyun"] == "khorezm" and "aral_sea" not in edges
    assert charts.return_edges(network) == {"khorezm": "sarygamysh", "dashoguz": "sarygamysh"}
    bounds = charts.reservoir_bounds(network)
    assert bounds["nurek"] == pytest.approx((6.0, 10.5))
    assert bounds["tuyamuyun"] == pytest.approx((0.0, 6.8))
    assert bounds["rogun"] == pytest.approx((3.0, 13.3))  # switched off here: read from the basin file


def test_schematic_layout_flows_down_the_page(network):
    edges, returns = charts.network_edges(network), charts.return_edges(network)
    grid = charts.schematic_layout(edges, returns)
    assert set(grid) == set(network.names)
    assert len(set(grid.values())) == len(grid)  # one node per cell
    for a, b in edges.items():
        assert grid[b][0] > grid[a][0]  # every reach goes down
    stem = [n for n, (_, across) in sorted(grid.items(), key=lambda kv: kv[1][0]) if across == 0]
    assert stem[0] == "panj_upper" and stem[-1] == "aral_sea" and "kerki" in stem
    assert grid["sarygamysh"][0] > grid["dashoguz"][0]


def test_basin_map(ens, network):
    ax = charts.basin_map(ens, downstream=charts.network_edges(network), returns=charts.return_edges(network),
                          positions={"aral_sea": (3.0, -30.0)})
    meets_standards(ax)
    texts = {t.get_text().split("  ")[0]: t for t in ax.texts}
    for name in network.names:
        assert name.replace("_", " ") in texts or name.replace("_", " ") + " (off)" in texts
    assert "rogun (off)" in texts
    assert texts["aral sea"].xy == (3.0, -30.0)
    # offtake labels carry the shortfall in % of demand, as the colour of the marker
    node = ens.sel(node="lebap")
    pct = 100 * float(node.shortfall.sum()) / float(node.demand.sum())
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("lebap")] == [f"lebap  {pct:.0f} %"]
    assert "%" in ax.figure.axes[-1].get_ylabel()
    markers = {c.get_paths()[0].vertices.shape[0] for c in ax.collections if c.get_offsets().shape[0]}
    assert len(markers) >= 3  # circles, squares, triangles
    assert any("schematic" in t.get_text() for t in ax.texts)


def test_basin_map_needs_the_reaches(ens):
    ds = ens.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "network_json"}
    with pytest.raises(ValueError, match="network_edges"):
        charts.basin_map(ds)
    moved = ens.copy()
    moved.attrs["basin"] = "/nowhere/amu_darya"  # the run's own saved network is used, not the basin folder
    ax = charts.basin_map(moved)
    assert any(t.get_text() == "sarygamysh" for t in ax.texts)


# --- reservoirs and the delta -----------------------------------------------------------------------------------

def test_reservoir_storage(ens, network):
    ax = charts.reservoir_storage(ens, bounds=charts.reservoir_bounds(network))
    meets_standards(ax, "km³")
    labels = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert labels == ["Nurek", "Tuyamuyun"]  # Rogun is off in this run
    expected = np.median(ens.storage.sel(node="tuyamuyun").values, axis=0) / 1000
    np.testing.assert_allclose(line(ax, "Tuyamuyun").get_ydata(), expected)
    levels = {round(float(ln.get_ydata()[0]), 6) for ln in ax.get_lines() if ln.get_label().startswith("_")}
    assert {10.5, 6.0, 6.8, 0.0} <= levels


def test_reservoir_storage_shows_rogun_when_active(network):
    ds = run("ensemble.toml", ("reservoirs.rogun.enabled", True), ("hydrology.members", 3))
    ax = charts.reservoir_storage(ds, bounds=charts.reservoir_bounds(network))
    assert "Rogun" in [ln.get_label() for ln in ax.get_lines()]
    assert "Rogun on" in ax.get_title()
    assert 13.3 in {round(float(ln.get_ydata()[0]), 6) for ln in ax.get_lines()}


def test_delta_inflow(ens):
    ax = charts.delta_inflow(ens)
    meets_standards(ax, "km³ per month")
    inflow = line(ax, "inflow to aral sea")
    np.testing.assert_allclose(inflow.get_ydata(), np.median(ens.inflow.sel(node="aral_sea").values, axis=0) / 1000)
    np.testing.assert_allclose(line(ax, "requirement").get_ydata(), ens.requirement.sel(node="aral_sea", member=0).values / 1000)
    ax = charts.delta_inflow(ens, by="month")
    meets_standards(ax, "km³ per month", "Oct-Sep")
    step = [p for p in ax.patches if p.get_label() == "inflow to aral sea"][0]
    october = ens.inflow.sel(node="aral_sea").where(ens.time.dt.month == 10, drop=True).values.ravel() / 1000
    assert step.get_data().values[0] == pytest.approx(np.median(october))


# --- saving -------------------------------------------------------------------------------------------------------

def test_save_svg_is_reproducible(ens, tmp_path):
    paths = []
    for name in ("a.svg", "b.svg"):
        ax = charts.delta_inflow(ens)
        charts.save(ax.figure, tmp_path / name, "svg")
        paths.append(tmp_path / name)
    text = paths[0].read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert not plt.get_fignums()  # save closes the figure
    charts.save(charts.shortfall_heatmap(ens).figure, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="svg"):
        charts.save(plt.figure(), tmp_path / "d.gif", "gif")
    assert not plt.get_fignums()


def test_geographic_map_puts_nodes_at_their_sourced_coordinates(ens):
    """Nodes at nodes.csv's lon/lat, reaches from node to node, offtakes labelled with their shortfall %, Qosh Tepa
    starred, the background lines drawn (issue 14)."""
    import csv

    from hydro.geography import from_attrs
    from tests.conftest import AMU_DARYA

    ax = charts.geographic_map(ens)
    meets_standards(ax, "°N")
    assert "°E" in ax.get_xlabel()
    with open(AMU_DARYA / "map" / "nodes.csv", encoding="utf-8") as fh:
        rows = {r["node"]: r for r in csv.DictReader(fh)}
    labels = {t.get_text().split(" ")[0]: t for t in ax.texts}
    assert labels["karakalpakstan"].xy == pytest.approx((float(rows["karakalpakstan"]["lon"]), float(rows["karakalpakstan"]["lat"])))
    node = ens.sel(node="lebap")
    pct = 100 * float(node.shortfall.sum()) / float(node.demand.sum())
    assert f"lebap {pct:.0f} %" in [t.get_text() for t in ax.texts]
    geo = from_attrs(ens)
    assert len(ax.get_lines()) >= sum(len(v) for v in geo["layers"].values())
    assert any(c.get_paths()[0].vertices.shape[0] > 8 for c in ax.collections)  # the star
    assert set(geo["nodes"]) == set(rows)


def test_geographic_map_refuses_results_without_a_map(ens):
    ds = ens.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "map_json"}
    with pytest.raises(ValueError, match="no map"):
        charts.geographic_map(ds)


def test_a_bad_coordinate_names_the_file_and_line(tmp_path):
    import shutil

    from hydro.basin import load_basin
    from hydro.errors import BasinError
    from hydro.geography import load
    from tests.conftest import AMU_DARYA

    folder = tmp_path / "amu"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "map" / "nodes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], "95.0", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BasinError, match=r"nodes.csv.*line 4: lat, lon.*a latitude in -90..90"):
        load(load_basin(folder))
