"""Today's numbers must not drift: every case of tests/regression.py against tests/data/regression.npz, 1e-9 hm3."""

from __future__ import annotations

import numpy as np
import pytest

from tests.regression import FIXTURE, cases, compute

CASES = cases()


@pytest.fixture(scope="module")
def stored():
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


def test_every_case_is_stored(stored):
    names = {key.split("::")[0] for key in stored}
    assert names == set(CASES), "regenerate with .venv/bin/python -m tests.regression (and say why in the commit)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_numbers_have_not_drifted(stored, name):
    run_file, overrides = CASES[name]
    now = compute(run_file, overrides)
    for key, value in now.items():
        before = stored[f"{name}::{key}"]
        if key.startswith("nodes/"):
            assert list(value) == list(before), key
            continue
        assert value.shape == before.shape, key
        np.testing.assert_allclose(value, before, rtol=0, atol=1e-9, err_msg=f"{name}: {key} (hm3)")


def test_the_cases_differ_from_each_other(stored):
    """A fixture that cannot fail is no fixture: the rules, hydrology kinds and positions give different numbers."""
    withdrawals = {name: stored[f"{name}::withdrawal"].sum() for name in CASES}
    rules = [withdrawals[f"baseline/{r}/year_type"] for r in ("upstream_first", "icwc_quota", "kerki_split", "proportional")]
    assert len({round(float(x), 6) for x in rules}) == len(rules)
    kinds = [withdrawals[f"baseline/upstream_first/{k}"] for k in ("climatology", "stochastic", "year_type", "historical", "series")]
    assert len({round(float(x), 6) for x in kinds}) == len(kinds)
