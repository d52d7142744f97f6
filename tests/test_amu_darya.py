"""The shipped Amu Darya basin: it validates, runs, closes its balance, and Qosh Tepa hurts downstream monotonically."""

import numpy as np
import pytest

from hydro.metrics import state_summary
from hydro.runner import run_scenario
from hydro.scenario import load_scenario
from tests.conftest import RUNS


def _run(withdrawal_km3: float, years: int = 2):
    scenario = load_scenario(RUNS / "mean_year.toml", [("qosh_tepa.withdrawal_km3", withdrawal_km3), ("time.years", years), ("analysis.warmup_years", 0)])
    return run_scenario(scenario)


@pytest.fixture(scope="module")
def sweep():
    return {w: state_summary(_run(w)) for w in (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0)}


def test_baseline_runs_and_its_balance_closes():
    ds = _run(6.0)
    assert ds.attrs["mass_balance_max_rel"] < 1e-9
    assert set(ds.state.values) >= {"AFG", "TJK", "UZB", "TKM"}
    # Qosh Tepa gets its 6 km3 in a mean year (it is first in line below the confluence)
    qt = float(ds.withdrawal.sel(node="qosh_tepa").sum()) / 2 / 1000
    np.testing.assert_allclose(qt, 6.0, rtol=1e-6)


def test_more_qosh_tepa_never_lowers_the_uzb_tkm_shortfall(sweep):
    combined = [sweep[w].loc[["UZB", "TKM"], "shortfall_km3"].sum() for w in sorted(sweep)]
    assert np.all(np.diff(combined) >= -1e-9), combined
    assert combined[-1] > combined[0] + 1.0  # 12 km3/yr of Qosh Tepa costs UZB+TKM more than 1 km3/yr


def test_qosh_tepa_does_not_change_upstream_tajik_supply(sweep):
    tjk = [sweep[w].loc["TJK", "withdrawal_km3"] for w in sorted(sweep)]
    np.testing.assert_allclose(tjk, tjk[0], rtol=1e-12)


def test_rogun_switch_adds_storage_and_keeps_balance():
    scenario = load_scenario(RUNS / "mean_year.toml", [("reservoirs.rogun.enabled", True), ("time.years", 2)])
    ds = run_scenario(scenario)
    assert float(ds.storage.sel(node="rogun").max()) > 3000.0  # above Rogun's 3.0 km3 dead storage
    assert int(ds.active.sel(node="rogun")) == 1
    off = _run(6.0)
    assert float(off.storage.sel(node="rogun").max()) == 0.0 and int(off.active.sel(node="rogun")) == 0
