"""The shipped basin loads; broken basins are refused with messages that say what is wrong and where."""

from __future__ import annotations

import csv
import re
import shutil
import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from hydro.basin import FORMAT_VERSION, Figure, load_basin
from hydro.errors import BasinError, Problem
from tests.conftest import AMU_DARYA, tiny_basin, write_basin

# ------------------------------------------------------------------ helpers


def copy_basin(tmp_path: Path, edits: dict[str, list[tuple[str, str]]] | None = None,
               nodes: list[tuple[str, str, str]] = ()) -> Path:
    """Copy the shipped basin to tmp_path/amu_darya and apply text edits {file: [(old, new), ...]} and
    node edits [(node name, old, new), ...] (within that node's [[node]] block).

    Each `old` must occur exactly once, so that a change to the shipped basin breaks the test loudly
    instead of silently testing nothing."""
    folder = tmp_path / "amu_darya"
    shutil.copytree(AMU_DARYA, folder)
    for name, old, new in nodes:
        edit_node(folder, name, old, new)
    for name, pairs in (edits or {}).items():
        path = folder / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return folder


def edit_node(folder: Path, name: str, old: str, new: str) -> None:
    """Replace `old` by `new` inside the [[node]] block named `name` of basin.toml (exactly once)."""
    path = folder / "basin.toml"
    text = path.read_text(encoding="utf-8")
    head = f'[[node]]\nname = "{name}"\n'
    assert text.count(head) == 1, f"node {name!r} not found once"
    start = text.index(head)
    end = text.find("\n[[", start + len(head))
    end = len(text) if end < 0 else end
    block = text[start:end]
    assert block.count(old) == 1, f"{old!r} occurs {block.count(old)} times in node {name!r}"
    path.write_text(text[:start] + block.replace(old, new) + text[end:], encoding="utf-8")


@lru_cache(maxsize=None)
def _shipped_order() -> tuple[str, ...]:
    with open(AMU_DARYA / "basin.toml", "rb") as fh:
        return tuple(n["name"] for n in tomllib.load(fh)["node"])


@lru_cache(maxsize=None)
def _shipped_reaches() -> tuple[tuple[str, str], ...]:
    with open(AMU_DARYA / "basin.toml", "rb") as fh:
        return tuple((r["from"], r["to"]) for r in tomllib.load(fh)["reach"])


def at(name: str) -> str:
    """The key path of a shipped node as the loader writes it: node[i] ('name')."""
    return f"node[{_shipped_order().index(name)}] ({name!r})"


def reach_at(frm: str, to: str, shown_to: str | None = None) -> str:
    """The key path of a shipped reach: reach[i] ('from' -> 'to')."""
    return f"reach[{_shipped_reaches().index((frm, to))}] ({frm!r} -> {(shown_to or to)!r})"


def edit_table(folder: Path, filename: str, name: str, change) -> int:
    """Rewrite the row called `name` of a monthly CSV: its 12 month fields become change(fields) (which may
    return more or fewer). Returns the row's line number as the loader reports it."""
    path = folder / filename
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    (i,) = [k for k, r in enumerate(rows) if k > 0 and r[0] == name]
    rows[i] = rows[i][:4] + list(change(rows[i][4:16]))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return i + 1


def month_fields(filename: str, name: str) -> list[str]:
    with open(AMU_DARYA / filename, newline="", encoding="utf-8") as fh:
        return next(r[4:16] for r in csv.reader(fh) if r[0] == name)


def append_basin(folder: Path, extra: str) -> None:
    with open(folder / "basin.toml", "a", encoding="utf-8") as fh:
        fh.write("\n" + extra)


def problems_of(folder) -> list[Problem]:
    with pytest.raises(BasinError) as info:
        load_basin(folder)
    return info.value.problems


def one(pattern: str) -> str:
    """A literal fragment as a regex for pytest.raises(match=...)."""
    return re.escape(pattern)


TINY = tiny_basin()


# ------------------------------------------------------------------ the shipped basin


def test_shipped_basin_has_29_nodes(amu_basin):
    assert len(amu_basin.nodes) == 29
    kinds = [n.kind for n in amu_basin.nodes.values()]
    assert {k: kinds.count(k) for k in set(kinds)} == {"inflow": 7, "junction": 6, "reservoir": 3, "offtake": 11, "terminal": 2}
    assert len(amu_basin.reaches) == 27  # a tree: every node but the two terminals has one reach leaving it


def test_every_figure_source_resolves_to_sources_toml(amu_basin):
    with open(AMU_DARYA / "sources.toml", "rb") as fh:
        keys = set(tomllib.load(fh)["sources"])
    figures = list(amu_basin.figures())
    assert len(figures) > 50
    for path, fig in figures:
        assert isinstance(fig, Figure)
        assert fig.source in keys, f"{path}: source {fig.source!r} not in sources.toml"
        assert fig.confidence in ("H", "M", "L", "U"), path
        assert np.isfinite(fig.value), path
    # the monthly tables name their sources too
    for name in ("regimes.csv", "reservoir_curves.csv"):
        lines = (AMU_DARYA / name).read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            assert line.split(",")[2] in keys, f"{name}: {line[:40]}"


def test_qosh_tepa_offtake_with_650_m3s(amu_basin):
    qt = amu_basin.nodes["qosh_tepa"]
    assert qt.kind == "offtake"
    assert qt.state == "AFG"
    assert qt.settings["qosh_tepa"] is True
    cap = qt.figures["capacity"]
    assert cap.text == "650 m3/s"
    assert cap.source == "QT-CAP"
    assert cap.value == pytest.approx(650 * 86_400 / 1e6, rel=1e-12)  # hm3/day


def test_rogun_present_and_disabled(amu_basin):
    rogun = amu_basin.nodes["rogun"]
    assert rogun.kind == "reservoir"
    assert rogun.settings["enabled"] is False
    assert rogun.figure("capacity") == pytest.approx(13_300.0)


def test_shipped_basin_tables_and_hash(amu_basin):
    assert set(amu_basin.regimes) == {"kerki", "kokcha"}
    assert set(amu_basin.curves) == {"nurek", "rogun", "tuyamuyun"}
    for table in (*amu_basin.regimes.values(), *amu_basin.curves.values()):
        assert table.shape == (12,)
    assert re.fullmatch(r"[0-9a-f]{64}", amu_basin.sha256)


def test_a_copy_loads_with_the_same_hash(tmp_path, amu_basin):
    copy = load_basin(copy_basin(tmp_path))
    assert copy.sha256 == amu_basin.sha256
    assert list(copy.nodes) == list(amu_basin.nodes)


def test_basin_toml_path_works_as_well_as_folder(amu_basin):
    assert load_basin(AMU_DARYA / "basin.toml").sha256 == amu_basin.sha256


def test_tiny_basin_loads(tmp_path):
    basin = load_basin(write_basin(tmp_path / "tiny", TINY))
    assert list(basin.nodes) == ["src", "farm", "sea"]


# ------------------------------------------------------------------ a catalogue of broken basins: the network


def test_unknown_node_in_a_reach(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('from = "qosh_tepa"\nto = "termez"', 'from = "qosh_tepa"\nto = "termes"')]})
    with pytest.raises(BasinError, match=one(reach_at("qosh_tepa", "termez", "termes") + ".to: found 'termes', expected a node of this basin: one of [")) as info:
        load_basin(folder)
    assert "(did you mean 'termez'?)" in str(info.value)


def test_cycle(tmp_path):
    folder = write_basin(tmp_path / "cycle", """
        [[node]]
        name = "src"
        kind = "inflow"
        regime = "uniform"
        annual_flow = { value = "1 km3/yr", source = "T" }
        [[node]]
        name = "a"
        kind = "junction"
        [[node]]
        name = "b"
        kind = "junction"
        [[node]]
        name = "sea"
        kind = "terminal"
        [[reach]]
        from = "src"
        to = "a"
        [[reach]]
        from = "a"
        to = "b"
        [[reach]]
        from = "b"
        to = "a"
    """)
    with pytest.raises(BasinError, match=one("reach: found 'a -> b -> a', expected no cycle: water must flow to a terminal")):
        load_basin(folder)


def test_non_terminal_with_two_downstream_reaches(tmp_path):
    folder = copy_basin(tmp_path)
    append_basin(folder, '[[reach]]\nfrom = "kerki"\nto = "aral_sea"\n')
    with pytest.raises(BasinError, match=one("""node 'kerki': found "2 reaches leaving it (['karakum_canal', 'aral_sea'])", expected exactly one downstream reach""")):
        load_basin(folder)


def test_node_with_no_reach_leaving_it(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('[[reach]]\nfrom = "termez"\nto = "surkhandarya_irrigation"\n', "")]})
    with pytest.raises(BasinError, match=one("node 'termez': found 'no reach leaving it', expected exactly one downstream reach")) as info:
        load_basin(folder)
    # and what that leaves behind: surkhandarya_irrigation has no reach into it
    assert "node 'surkhandarya_irrigation': found 'no reach into it', expected at least one upstream reach" in str(info.value)


def test_reach_leaving_a_terminal(tmp_path):
    folder = write_basin(tmp_path / "t", TINY + '[[reach]]\nfrom = "sea"\nto = "farm"\n')
    with pytest.raises(BasinError, match=one("""node 'sea': found "reach to ['farm']", expected no reach leaving a terminal""")):
        load_basin(folder)


def test_reach_into_an_inflow_node(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('from = "panj_upper"\nto = "panj_kokcha"', 'from = "panj_upper"\nto = "kokcha"')]})
    with pytest.raises(BasinError, match=one("""node 'kokcha': found "reaches into it from ['panj_upper']", expected none: an inflow node is a headwater""")):
        load_basin(folder)


def test_orphan_terminal(tmp_path):
    folder = copy_basin(tmp_path)
    append_basin(folder, '[[node]]\nname = "lake"\nkind = "terminal"\n')
    with pytest.raises(BasinError, match=one("node 'lake': found 'nothing flows into it', expected a terminal reached by a reach or by a return flow")) as info:
        load_basin(folder)
    assert len(info.value.problems) == 1


def test_terminal_fed_only_by_a_return_flow_is_not_an_orphan(amu_basin):
    # sarygamysh gets only the return flows of khorezm and dashoguz
    assert not any(r.target_node == "sarygamysh" for r in amu_basin.reaches)


def test_duplicate_name(tmp_path):
    folder = copy_basin(tmp_path)
    append_basin(folder, '[[node]]\nname = "kerki"\nkind = "junction"\n')
    n = len(_shipped_order())
    with pytest.raises(BasinError, match=one(f"node[{n}] ('kerki').name: found 'kerki', expected a name used by one node only")) as info:
        load_basin(folder)
    assert len(info.value.problems) == 1


def test_return_to_upstream_of_the_offtake(tmp_path):
    folder = copy_basin(tmp_path)
    edit_node(folder, "surkhandarya_irrigation", 'return_to = "kerki"', 'return_to = "termez"')
    with pytest.raises(BasinError, match=one("node 'surkhandarya_irrigation'.return_to: found 'termez', expected a terminal or a node downstream of the offtake")):
        load_basin(folder)


def test_return_to_unknown_node(tmp_path):
    folder = copy_basin(tmp_path)
    edit_node(folder, "surkhandarya_irrigation", 'return_to = "kerki"', 'return_to = "kerky"')
    with pytest.raises(BasinError, match=one("node 'surkhandarya_irrigation'.return_to: found 'kerky', expected a node of this basin")) as info:
        load_basin(folder)
    assert "(did you mean 'kerki'?)" in str(info.value)


def test_return_fraction_without_return_to(tmp_path):
    folder = copy_basin(tmp_path)
    edit_node(folder, "surkhandarya_irrigation", 'return_to = "kerki"\n', "")
    with pytest.raises(BasinError, match=one(at("surkhandarya_irrigation") + ".return_to: found <missing>, expected the node that receives the return flow")):
        load_basin(folder)


# ------------------------------------------------------------------ broken figures


def test_negative_capacity(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s"', 'capacity = { value = "-650 m3/s"')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.value: found '-650 m3/s', expected a value >= 0")):
        load_basin(folder)


def test_missing_source_key(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s", source = "QT-CAP" }', 'capacity = { value = "650 m3/s" }')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.source: found <missing>, expected a key of sources.toml")):
        load_basin(folder)


def test_source_key_not_in_sources_toml(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'source = "QT-CAP"', 'source = "QT-CAPA"')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.source: found 'QT-CAPA', expected a key of sources.toml: one of [")) as info:
        load_basin(folder)
    assert "(did you mean 'QT-CAP'?)" in str(info.value)


def test_figure_without_a_table(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s", source = "QT-CAP" }', 'capacity = "650 m3/s"')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity: found '650 m3/s', expected a table { value = ..., source = \"KEY\" } (every number needs a source)")):
        load_basin(folder)


def test_bad_unit(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s"', 'capacity = { value = "650 m3/sec"')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.value: found '650 m3/sec', expected a rate with its unit, e.g. '650 m3/s' or '9.8 km3/yr' (unit 'm3/sec' in '650 m3/sec' is not known; known units: [")):
        load_basin(folder)


def test_wrong_dimension(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s"', 'capacity = { value = "6 km3"')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.value: found '6 km3', expected a rate with its unit, e.g. '650 m3/s' or '9.8 km3/yr' ('6 km3' is a volume, expected a rate")):
        load_basin(folder)


def test_wrong_dimension_volume_given_a_rate(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("nurek", 'capacity = { value = "10.5 km3"', 'capacity = { value = "10.5 km3/yr"')])
    with pytest.raises(BasinError, match=one(at("nurek") + ".capacity.value: found '10.5 km3/yr', expected a volume with its unit, e.g. '6.8 km3'")):
        load_basin(folder)


def test_fraction_above_one(tmp_path):
    folder = copy_basin(tmp_path)
    edit_node(folder, "surkhandarya_irrigation", "return_fraction = { value = 0.25,", "return_fraction = { value = 1.25,")
    with pytest.raises(BasinError, match=one(at("surkhandarya_irrigation") + ".return_fraction.value: found '1.25', expected a fraction between 0 and 1")):
        load_basin(folder)


def test_range_with_low_above_high(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("tuyamuyun", 'range = ["6.8 km3", "7.8 km3"]', 'range = ["7.8 km3", "6.8 km3"]')])
    with pytest.raises(BasinError, match=one(at("tuyamuyun") + ".capacity.range: found ['7.8 km3', '6.8 km3'], expected [low, high], each a volume with its unit, e.g. '6.8 km3' (low end above high end)")):
        load_basin(folder)


def test_dead_storage_above_capacity(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("nurek", 'dead_storage = { value = "6.0 km3"', 'dead_storage = { value = "11 km3"')])
    with pytest.raises(BasinError, match=one(at("nurek") + ".dead_storage: found '11 km3', expected at most the capacity (10.5 km3)")):
        load_basin(folder)


def test_missing_required_figure(tmp_path):
    folder = copy_basin(tmp_path)
    path = folder / "basin.toml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index('name = "kokcha"\n')
    drop = next(i for i in range(start, len(lines)) if lines[i].startswith("annual_flow = "))
    path.write_text("".join(lines[:drop] + lines[drop + 1:]), encoding="utf-8")
    with pytest.raises(BasinError, match=one(at("kokcha") + ".annual_flow: found <missing>, expected a rate with its unit, e.g. '650 m3/s' or '9.8 km3/yr' with its source")):
        load_basin(folder)


# ------------------------------------------------------------------ broken node settings


def test_unknown_regime(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("kokcha", 'regime = "kokcha"', 'regime = "kokha"')])
    with pytest.raises(BasinError, match=one(at("kokcha") + ".regime: found 'kokha', expected a regime of the regimes CSV or built in: one of ['kerki', 'kokcha', 'uniform'] (did you mean 'kokcha'?)")):
        load_basin(folder)


def test_unknown_curve(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("nurek", 'curve = "nurek"', 'curve = "nureck"')])
    with pytest.raises(BasinError, match=one(at("nurek") + ".curve: found 'nureck', expected a curve of the reservoir curves CSV or built in: one of ['empty', 'full', 'nurek', 'rogun', 'tuyamuyun'] (did you mean 'nurek'?)")):
        load_basin(folder)


def test_unknown_kind(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("nurek", 'kind = "reservoir"', 'kind = "reservior"')])
    with pytest.raises(BasinError, match=one(at("nurek") + ".kind: found 'reservior', expected one of ['inflow', 'junction', 'offtake', 'reservoir', 'terminal'] (did you mean 'reservoir'?)")):
        load_basin(folder)


def test_unknown_key_in_a_node(tmp_path):
    folder = copy_basin(tmp_path)
    edit_node(folder, "surkhandarya_irrigation", 'return_to = "kerki"', 'retrun_to = "kerki"')
    with pytest.raises(BasinError, match=one(at("surkhandarya_irrigation") + ".retrun_to: found <unknown key>, expected a key of a offtake node: one of [")) as info:
        load_basin(folder)
    assert "(did you mean 'return_to'?)" in str(info.value)


def test_unknown_key_in_a_figure(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'source = "QT-CAP" }', 'sorce = "QT-CAP", source = "QT-CAP" }')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.sorce: found <unknown key>, expected one of [")) as info:
        load_basin(folder)
    assert "(did you mean 'source'?)" in str(info.value)


def test_unknown_top_level_key(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('regimes = "regimes.csv"', 'regimes = "regimes.csv"\nregime = "regimes.csv"')]})
    with pytest.raises(BasinError, match=one("regime: found <unknown key>, expected a top-level key of a basin file: one of [")) as info:
        load_basin(folder)
    assert "(did you mean 'regimes'?)" in str(info.value)


@pytest.mark.parametrize("state", ["TJ", "Tajikistan", "tjk", "TAJ"])
def test_state_not_iso_alpha3(tmp_path, state):
    folder = copy_basin(tmp_path, nodes=[("nurek", 'state = "TJK"', f'state = "{state}"')])
    with pytest.raises(BasinError, match=one(at("nurek") + f".state: found {state!r}, expected an ISO 3166 alpha-3 code: one of [")):
        load_basin(folder)


def test_offtake_without_state(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("lebap", 'state = "TKM"\n', "")])
    with pytest.raises(BasinError, match=one(at("lebap") + ".state: found <missing>, expected the state that owns the offtake")):
        load_basin(folder)


def test_setting_of_the_wrong_type(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("rogun", "enabled = false", 'enabled = "no"')])
    with pytest.raises(BasinError, match=one(at("rogun") + ".enabled: found 'no', expected a bool")):
        load_basin(folder)


def test_bad_node_name(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('name = "lebap"', 'name = "lebap canal"')]})
    with pytest.raises(BasinError, match=one(f"node[{_shipped_order().index('lebap')}] ('lebap canal').name: found 'lebap canal', expected a name of letters, digits and _")):
        load_basin(folder)


# ------------------------------------------------------------------ broken monthly tables and files


@pytest.mark.parametrize("filename,name", [("regimes.csv", "kokcha"), ("regimes.csv", "kerki"), ("reservoir_curves.csv", "nurek"), ("reservoir_curves.csv", "tuyamuyun")])
def test_monthly_table_with_11_values(tmp_path, filename, name):
    folder = copy_basin(tmp_path)
    line = edit_table(folder, filename, name, lambda months: months[:11])
    with pytest.raises(BasinError, match=one(f"{filename}: line {line} ({name!r}): found <row>, expected 12 monthly values, jan to dec")):
        load_basin(folder)


def test_monthly_table_with_13_values(tmp_path):
    folder = copy_basin(tmp_path)
    line = edit_table(folder, "regimes.csv", "kokcha", lambda months: months + ["70"])
    with pytest.raises(BasinError, match=one(f"regimes.csv: line {line} ('kokcha'): found <row>, expected 12 monthly values, jan to dec")):
        load_basin(folder)


def test_monthly_table_with_an_empty_month(tmp_path):
    folder = copy_basin(tmp_path)
    line = edit_table(folder, "regimes.csv", "kokcha", lambda months: months[:5] + [""] + months[6:])
    with pytest.raises(BasinError, match=one(f"regimes.csv: line {line} ('kokcha'): found <row>, expected 12 monthly values, jan to dec")):
        load_basin(folder)


def test_monthly_table_with_text(tmp_path):
    folder = copy_basin(tmp_path)
    months = month_fields("regimes.csv", "kokcha")[:11] + ["n/a"]
    line = edit_table(folder, "regimes.csv", "kokcha", lambda _: months)
    with pytest.raises(BasinError, match=one(f"regimes.csv: line {line} ('kokcha'): found {months!r}, expected 12 numbers")):
        load_basin(folder)


def test_monthly_table_negative(tmp_path):
    folder = copy_basin(tmp_path)
    months = month_fields("regimes.csv", "kokcha")
    months[10] = "-86"
    line = edit_table(folder, "regimes.csv", "kokcha", lambda _: months)
    with pytest.raises(BasinError, match=one(f"regimes.csv: line {line} ('kokcha'): found {[float(m) for m in months]!r}, expected 12 finite values >= 0")):
        load_basin(folder)


def test_curve_fraction_above_one(tmp_path):
    folder = copy_basin(tmp_path)
    months = month_fields("reservoir_curves.csv", "tuyamuyun")
    months[6] = "1.2"
    edit_table(folder, "reservoir_curves.csv", "tuyamuyun", lambda _: months)
    with pytest.raises(BasinError, match=one(f"reservoir_curves.csv: curve 'tuyamuyun': found {[float(m) for m in months]!r}, expected 12 fractions of active storage between 0 and 1")):
        load_basin(folder)


def test_monthly_table_missing_column(tmp_path):
    folder = copy_basin(tmp_path, {"regimes.csv": [("regime,unit,source,note,jan,", "regime,unit,source,note,january,")]})
    with pytest.raises(BasinError, match=one("regimes.csv: <header>: found [") ) as info:
        load_basin(folder)
    assert "missing ['jan']" in str(info.value)


def test_missing_regimes_file(tmp_path):
    folder = copy_basin(tmp_path)
    (folder / "regimes.csv").unlink()
    with pytest.raises(BasinError, match=one("regimes: found 'regimes.csv', expected a CSV file beside basin.toml")):
        load_basin(folder)


def test_missing_sources_file(tmp_path):
    folder = copy_basin(tmp_path)
    (folder / "sources.toml").unlink()
    with pytest.raises(BasinError, match=one("sources: found 'sources.toml', expected a sources table beside basin.toml")):
        load_basin(folder)


def test_source_without_url(tmp_path):
    folder = copy_basin(tmp_path, {"sources.toml": [('url = "http://www.cawater-info.net/amudarya/losses_e.htm"\n', "")]})
    with pytest.raises(BasinError, match=one("sources.toml: sources.CW-LOSS.url: found <missing>, expected a non-empty string")):
        load_basin(folder)


@pytest.mark.parametrize("version", ["2", '"1"', "0"])
def test_format_version_wrong(tmp_path, version):
    folder = copy_basin(tmp_path, {"basin.toml": [("format_version = 1\n", f"format_version = {version}\n")]})
    with pytest.raises(BasinError, match=one(f"format_version: found {tomllib.loads('v = ' + version)['v']!r}, expected {FORMAT_VERSION} (this package reads basin format {FORMAT_VERSION})")):
        load_basin(folder)


def test_format_version_missing(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [("format_version = 1\n", "")]})
    with pytest.raises(BasinError, match=one("format_version: found None, expected 1")):
        load_basin(folder)


def test_missing_basin_toml(tmp_path):
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    with pytest.raises(BasinError, match=one(f"{empty / 'basin.toml'}: <file>: found {str(empty / 'basin.toml')!r}, expected a basin folder holding basin.toml")):
        load_basin(empty)


def test_missing_basin_folder(tmp_path):
    with pytest.raises(BasinError, match=one("expected a basin folder holding basin.toml")):
        load_basin(tmp_path / "no_such_basin")


def test_invalid_toml(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('name = "lebap"', 'name = "lebap')]})
    with pytest.raises(BasinError, match=one("basin.toml: <toml>: found ")) as info:
        load_basin(folder)
    assert "expected valid TOML" in str(info.value)


# ------------------------------------------------------------------ all problems at once


def test_three_problems_reported_together(tmp_path):
    folder = copy_basin(tmp_path, nodes=[
        ("qosh_tepa", 'capacity = { value = "650 m3/s"', 'capacity = { value = "-650 m3/s"'),  # negative capacity
        ("kokcha", 'regime = "kokcha"', 'regime = "kokha"'),  # unknown regime
        ("nurek", 'dead_storage = { value = "6.0 km3"', 'dead_storage = { value = "11 km3"'),  # dead storage above capacity
    ])
    with pytest.raises(BasinError, match=one("3 problems in basin:")) as info:
        load_basin(folder)
    err = info.value
    assert len(err.problems) == 3
    main = str(folder / "basin.toml")
    expected = {
        at("kokcha") + ".regime": ("kokha", "a regime of the regimes CSV or built in"),
        at("nurek") + ".dead_storage": ("11 km3", "at most the capacity (10.5 km3)"),
        at("qosh_tepa") + ".capacity.value": ("-650 m3/s", "a value >= 0"),
    }
    assert sorted(p.key for p in err.problems) == sorted(expected)
    for problem in err.problems:
        key = problem.key
        found, what = expected[key]
        assert problem.file == main
        assert problem.key == key
        assert problem.found == found
        assert problem.expected.startswith(what)
        # and the text the user reads says all four
        assert str(problem) == f"{main}: {key}: found {found!r}, expected {problem.expected}"
        assert str(problem) in str(err)
    assert str(err).count("\n") == 3  # a header line and one line per problem


def test_problems_in_different_files_name_their_own_file(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'capacity = { value = "650 m3/s"', 'capacity = { value = "650 m3/sec"')])
    edit_table(folder, "reservoir_curves.csv", "tuyamuyun", lambda months: months[:6] + ["1.2"] + months[7:])
    problems = problems_of(folder)
    assert [Path(p.file).name for p in problems] == ["reservoir_curves.csv", "basin.toml"]


# ------------------------------------------------------------------ inputs that crash the loader instead of being reported


def test_source_given_as_a_list(tmp_path):
    folder = copy_basin(tmp_path, nodes=[("qosh_tepa", 'source = "QT-CAP"', 'source = ["QT-CAP", "YB22QT"]')])
    with pytest.raises(BasinError, match=one(at("qosh_tepa") + ".capacity.source: found ['QT-CAP', 'YB22QT'], expected one key of sources.toml as a string")):
        load_basin(folder)


def test_reach_end_given_as_a_list(tmp_path):
    folder = copy_basin(tmp_path, {"basin.toml": [('from = "qosh_tepa"\nto = "termez"', 'from = "qosh_tepa"\nto = ["termez"]')]})
    with pytest.raises(BasinError, match=one(".to: found ['termez'], expected a node of this basin")):
        load_basin(folder)


def test_monthly_csv_not_utf8(tmp_path):
    folder = copy_basin(tmp_path)
    path = folder / "regimes.csv"
    path.write_bytes(path.read_bytes().replace(b"mean monthly discharge", "mean monthly discharge (Türkmenabat)".encode("cp1252"), 1))
    with pytest.raises(BasinError, match=one("regimes.csv")):
        load_basin(folder)


def test_basin_toml_not_utf8(tmp_path):
    folder = copy_basin(tmp_path)
    path = folder / "basin.toml"
    path.write_bytes(path.read_bytes().replace(b"Sarygamysh / Altyn Asyr", "Sarygamysh / Altyn Asyr (Türkmenistan)".encode("cp1252"), 1))
    with pytest.raises(BasinError, match=one("basin.toml")):
        load_basin(folder)


def test_protected_flow_on_a_reach_nothing_can_hold_back(tmp_path):
    """A min_flow below a junction constrains nobody: refused, naming the reach and the junction."""
    folder = copy_basin(tmp_path, {"basin.toml": [('from = "termez"\nto = "surkhandarya_irrigation"',
                                                   'from = "termez"\nto = "surkhandarya_irrigation"\nmin_flow = { value = "100 m3/s", source = "CW-RES" }')]})
    with pytest.raises(BasinError, match=one(reach_at("termez", "surkhandarya_irrigation") + ".min_flow: found '100 m3/s', expected a protected flow only on a reach leaving an offtake or a reservoir")):
        load_basin(folder)
