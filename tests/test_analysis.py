"""The run's analysis settings: the warm-up left out of every figure, one definition of a dry year (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from hydro import analysis
from hydro.errors import ScenarioError
from hydro.runner import run_scenario, run_with_counterparts
from hydro.scenario import load_scenario
from tests.conftest import RUNS

MEAN_YEAR = RUNS / "mean_year.toml"


def test_the_warmup_is_simulated_and_left_out():
    """A run with a warm-up holds the months after it, equal to a run without one sliced; its initial storage is
    the storage at the end of the warm-up, so the saved file still balances from its first month."""
    kept = run_scenario(load_scenario(MEAN_YEAR, [("time.years", 3)]))
    whole = run_scenario(load_scenario(MEAN_YEAR, [("time.years", 3), ("analysis.warmup_years", 0)]))
    assert kept.sizes["time"] == 24 and whole.sizes["time"] == 36
    np.testing.assert_array_equal(kept.time.values, whole.time.values[12:])
    for v in ("withdrawal", "flow", "storage", "shortfall"):
        np.testing.assert_array_equal(kept[v].values, whole[v].values[:, 12:])
    np.testing.assert_array_equal(kept.initial_storage.sel(node="nurek").values, whole.storage.sel(node="nurek").values[:, 11])
    assert "2026-10" in kept.attrs["warmup"] and "warmup" not in whole.attrs


def test_a_counterpart_leaves_out_the_same_warmup():
    ds, others = run_with_counterparts(load_scenario(MEAN_YEAR, [("time.years", 2)]))
    for other in others.values():
        np.testing.assert_array_equal(other.time.values, ds.time.values)


def test_a_one_year_run_keeps_its_year_and_a_warmup_as_long_as_the_run_is_refused():
    assert load_scenario(MEAN_YEAR, [("time.years", 1)]).warmup_months == 0
    assert load_scenario(MEAN_YEAR, [("time.years", 2)]).warmup_months == 12
    with pytest.raises(ScenarioError, match="analysis.warmup_years.*fewer years than the run's time.years"):
        load_scenario(MEAN_YEAR, [("time.years", 2), ("analysis.warmup_years", 2)])


def test_the_old_dry_exceedance_key_points_to_the_new_one():
    with pytest.raises(ScenarioError, match="analysis.dry_exceedance"):
        load_scenario(MEAN_YEAR, [("hydrology.dry_exceedance", 0.8)])


def test_one_dry_definition_labels_the_class_and_the_named_year():
    assert analysis.dry_class(0.75) == "dry: water years whose natural flow at Kerki is exceeded in >= 75% of years"
    assert "87.5% of years (the middle of the dry class, >= 75%)" in analysis.named_dry_year(0.75)
    ds, others = run_with_counterparts(load_scenario(MEAN_YEAR, [("time.years", 2), ("analysis.dry_exceedance", 0.8)]))
    # a mean-year run has no dry year: its dry figures come from the named dry year, at the middle of its class
    assert others["dry_year"].attrs["counterpart"] == "dry_year"
    assert analysis.dry_basis(ds, {"dry": others["dry_year"]}) == analysis.named_dry_year(0.8)
    assert analysis.dry_basis(ds) == analysis.dry_class(0.8)


def test_a_run_made_dry_is_never_called_the_mean_year():
    dry = run_scenario(load_scenario(RUNS / "dry_year.toml", [("time.years", 2)]))
    assert analysis.years_label(dry).startswith("a dry year (87.5% exceedance at Kerki), every year")
    scaled = run_scenario(load_scenario(MEAN_YEAR, [("time.years", 2), ("hydrology.scale", 0.84)]))
    assert analysis.years_label(scaled).startswith("the mean year x 0.84")
    assert analysis.overrides_text(scaled) == "time.years=2, hydrology.scale=0.84"


def test_the_shipped_baseline_is_an_ensemble_over_parameter_sets():
    s = load_scenario(RUNS / "baseline.toml")
    assert s.hydrology_kind == "stochastic" and s.simulations >= 200 and s.parameter_sets >= 10
    assert s.warmup_months == 12 and s.analysis["dry_exceedance"] == 0.75
