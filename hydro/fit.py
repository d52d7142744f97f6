"""Fitting the basin's uncertain figures to the recorded years (``hydro calibrate``).

The parameters are the basin's ranged figures (:func:`hydro.sensitivity.parameters`) that can move a replayed
year: the annual CVs and the stochastic model's correlations are left out (a replay does not use them). Each
parameter set is replayed by the hindcast (:func:`hydro.hindcast.hindcast`) and scored on the *calibration*
figures only; the held-out years (``validation``) are scored too but never used to choose.

1. ``samples`` sets by Latin hypercube over the ranges, plus the basin file's own values (set 0, "as written");
2. the best set by the objective, the root mean square of the calibration figures' relative errors, refined by
   scipy's bounded Powell search (``refine`` evaluations at most);
3. the *behavioural* sets: every set whose calibration figures all lie within ``tolerance`` (relative) of the
   record; their spread is the parameter uncertainty left after calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SKIPPED_KEYS = ("annual_cv",)  # figures a replayed year does not use


def fit_parameters(basin) -> list:
    """The ranged figures a replay can move (:class:`hydro.sensitivity.Parameter`)."""
    from hydro.sensitivity import parameters

    return [p for p in parameters(basin) if not p.paths[0].startswith("stochastic.") and p.paths[0].split(".")[-1] not in SKIPPED_KEYS]


def score(table: pd.DataFrame) -> dict[str, float]:
    """RMS and largest absolute relative error of the calibration and the validation figures."""
    out = {}
    for role in ("calibration", "validation"):
        err = table.loc[table.role == role, "relative_error"].dropna()
        out[f"rms_{role}"] = float(np.sqrt(np.mean(err ** 2))) if len(err) else np.nan
        out[f"max_{role}"] = float(err.abs().max()) if len(err) else np.nan
    return out


def calibrate(run_file, overrides=None, samples: int = 300, tolerance: float = 0.15, seed: int = 0, refine: int = 60,
              progress=None) -> dict:
    """Fit the parameters; returns {"params", "sets" (one row per evaluated set: values, scores, behavioural),
    "best" (values), "best_table" (its hindcast), "as_written" (the basin file's hindcast)}."""
    from scipy.optimize import minimize

    from hydro.basin import load_basin
    from hydro.hindcast import hindcast
    from hydro.scenario import load_scenario
    from hydro.sensitivity import parameter_overrides, sample

    overrides = list(overrides or [])
    scenario = load_scenario(run_file, overrides)
    from hydro.sensitivity import ranged

    basin = load_basin(scenario.basin_path, scenario.parameters)
    params = ranged(basin, fit_parameters(basin))
    rows, tables = [], {}

    def evaluate(values: dict[str, float], how: str) -> float:
        table = hindcast(run_file, [*overrides, *parameter_overrides(params, values)])
        s = score(table)
        err = table.loc[table.role == "calibration", "relative_error"].abs()
        rows.append({"set": len(rows), "how": how, **values, **s, "behavioural": bool((err <= tolerance).all())})
        tables[len(rows) - 1] = table
        if progress:
            progress(len(rows))
        return s["rms_calibration"]

    evaluate({p.label: p.value for p in params}, "as written")
    for values in sample(params, samples, seed):
        evaluate(values, "latin hypercube")
    best = min(range(len(rows)), key=lambda i: rows[i]["rms_calibration"])
    if refine > 0 and params:
        low = np.array([p.low for p in params])
        span = np.array([p.high - p.low for p in params])
        span = np.where(span > 0, span, 1.0)
        start = np.array([(rows[best][p.label] - p.low) / s for p, s in zip(params, span)])

        def objective(u):
            return evaluate({p.label: float(low[j] + np.clip(u[j], 0, 1) * span[j]) for j, p in enumerate(params)}, "refined")

        minimize(objective, start, method="Powell", bounds=[(0.0, 1.0)] * len(params), options={"maxfev": refine, "xtol": 1e-3})
        best = min(range(len(rows)), key=lambda i: rows[i]["rms_calibration"])
    sets = pd.DataFrame(rows)
    return {"params": params, "sets": sets, "best": {p.label: rows[best][p.label] for p in params}, "best_index": best,
            "best_table": tables[best], "as_written": tables[0]}


def parameters_toml(result: dict, provenance: dict) -> str:
    """The best set as a run file's [parameters] table, with its provenance as comments."""
    lines = ["# Calibrated figures: the best set of hydro calibrate (hydro/fit.py), with its provenance.",
             *(f"# {k}: {v}" for k, v in provenance.items()), "", "[parameters]"]
    for p in result["params"]:
        value = p.text(result["best"][p.label])
        for path in p.paths:
            lines.append(f'"{path}" = "{value}"' if isinstance(value, str) else f'"{path}" = {value!r}')
    return "\n".join(lines) + "\n"


def display_sets(result: dict) -> pd.DataFrame:
    """The evaluated sets with each parameter in display units (km3, km3/yr or plain), its unit in the column name."""
    from hydro.sensitivity import DISPLAY

    sets = result["sets"].copy()
    names = {}
    for p in result["params"]:
        unit, factor = DISPLAY.get(p.dimension, ("1", 1.0))
        sets[p.label] = sets[p.label] * factor
        names[p.label] = f"{p.label} [{unit}]"
    return sets.rename(columns=names)
