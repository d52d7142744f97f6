"""The shipped basin against its published figures (basins/amu_darya/calibration.toml) and its stored table."""

import pytest

from hydro.calibration import calibrate, render
from tests.conftest import AMU_DARYA


@pytest.fixture(scope="module")
def rows():
    return calibrate(AMU_DARYA)


def test_every_checked_row_is_within_its_band(rows):
    failed = [f"{r.label}: {r.value:.3f} outside {r.band}" for r in rows if r.check and not r.passed]
    assert not failed, "\n".join(failed)


def test_calibration_md_is_regenerated_from_the_current_basin(rows):
    """CALIBRATION.md must be what `make calibrate` writes now: a drifted number shows up here."""
    stored = (AMU_DARYA / "CALIBRATION.md").read_text(encoding="utf-8")
    assert stored == render(rows, AMU_DARYA), "CALIBRATION.md is stale: run `make calibrate` and commit it"


def test_a_row_outside_its_band_fails(rows):
    row = next(r for r in rows if r.metric == "nurek_release_share_apr_sep")
    assert row.passed
    row.value = 0.80  # summer-irrigation regime instead of winter energy
    assert not row.passed


def test_a_broken_calibration_table_is_one_line(tmp_path, capsys):
    import shutil

    from hydro.calibration import main as calibrate_main

    basin = tmp_path / "amu_darya"
    shutil.copytree(AMU_DARYA, basin)
    with open(basin / "calibration.toml", "a", encoding="utf-8") as fh:
        fh.write("x = [\n")
    before = (basin / "CALIBRATION.md").read_bytes()
    assert calibrate_main([str(basin)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "calibration.toml: <toml>:" in err[0] and "expected valid TOML" in err[0]
    assert (basin / "CALIBRATION.md").read_bytes() == before
