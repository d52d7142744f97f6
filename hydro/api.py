"""The Python interface: the command line's workflows as functions that return xarray and pandas objects.

>>> import hydro
>>> ds = hydro.run("runs/mean_year.toml", qosh_tepa__withdrawal_km3=10)   # doctest: +SKIP
>>> hydro.summary(ds)                                                       # doctest: +SKIP

Run-file keys are given as keyword arguments with ``__`` for the dot (``hydrology__members=50``) or as a dict
(``overrides={"hydrology.members": 50}``); they are checked exactly as ``--set`` is. Volumes in the Datasets are hm3
per month; summaries are km3 per year.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

__all__ = ["run", "run_with_counterparts", "compare", "sweep", "open_results", "open_sweep", "summary", "by_state",
           "judge", "admissible", "year_by_year"]


def _overrides(overrides: dict | None, keywords: dict) -> list[tuple[str, object]]:
    """(dotted key, value) pairs from a dict and from keywords written with ``__`` for the dot."""
    pairs = list((overrides or {}).items())
    pairs += [(key.replace("__", "."), value) for key, value in keywords.items()]
    return pairs


def run(run_file: str | Path, *, detail: str = "full", overrides: dict | None = None, **keywords) -> xr.Dataset:
    """Simulate a run file and return its results.

    Parameters
    ----------
    run_file : str or Path
        A run file (``runs/*.toml``).
    detail : {"full", "summary"}
        Every variable at every node, or the summary's variables at offtakes, reservoirs, terminals and Kerki.
    overrides : dict, optional
        Run-file keys to override, e.g. ``{"qosh_tepa.withdrawal_km3": 10}``.
    **keywords
        The same, with ``__`` for the dot: ``qosh_tepa__withdrawal_km3=10``.

    Returns
    -------
    xarray.Dataset
        Dims (member, time, node), hm3 per month, with its provenance in ``attrs``; the mass balance was checked.
    """
    from hydro.runner import run_scenario
    from hydro.scenario import load_scenario

    return run_scenario(load_scenario(run_file, _overrides(overrides, keywords)), detail)


def run_with_counterparts(run_file: str | Path, *, overrides: dict | None = None, **keywords) -> tuple[xr.Dataset, dict[str, xr.Dataset]]:
    """Simulate a run file and the runs a report compares it with.

    Returns
    -------
    (xarray.Dataset, dict of str to xarray.Dataset)
        The run, and ``without_qosh_tepa`` (and, for a run without dry years, ``dry_year`` and
        ``dry_year_without_qosh_tepa``) keeping demand, withdrawal, shortfall, inflow and requirement at offtakes,
        terminals and Kerki.
    """
    from hydro.runner import run_with_counterparts as _run
    from hydro.scenario import load_scenario

    return _run(load_scenario(run_file, _overrides(overrides, keywords)))


def compare(run_file: str | Path, rules: list[str] | None = None, qosh_tepa_km3: list[float] | None = None, *,
            overrides: dict | None = None, **keywords) -> tuple[xr.Dataset, pd.DataFrame]:
    """Run one scenario under several rules and Qosh Tepa targets.

    Parameters
    ----------
    rules : list of str, optional
        Rule names (default: the run file's ``compare.rules``).
    qosh_tepa_km3 : list of float, optional
        Qosh Tepa targets, km3/yr (default: ``compare.qosh_tepa_km3``, else the run's own).

    Returns
    -------
    (xarray.Dataset, pandas.DataFrame)
        Results with dims (rule, qosh_tepa_km3, member, time, node), and ``compare.csv``'s table: per rule, level,
        period and state the shortfall (km3/yr and %) with its 5-95 % band.
    """
    from hydro.comparison import compare as _compare
    from hydro.scenario import load_scenario

    pairs = _overrides(overrides, keywords)
    scenario = load_scenario(run_file, pairs)
    return _compare(run_file, rules or scenario.compare_rules or [scenario.rule], qosh_tepa_km3 or scenario.compare_qosh_tepa_km3 or None, pairs)


def sweep(run_file: str | Path, vary: dict[str, list], out: str | Path, *, workers: int | None = None, detail: str = "summary",
          overrides: dict | None = None, **keywords) -> xr.Dataset:
    """Run a grid of scenarios (resumable: an interrupted sweep into the same folder computes only what is missing).

    Parameters
    ----------
    vary : dict of str to list
        Run-file key -> its values, e.g. ``{"qosh_tepa.withdrawal_km3": [0, 6, 12], "rule": ["upstream_first"]}``.
    out : str or Path
        The sweep folder (chunks, ``sweep.csv``).
    workers : int, optional
        Local worker processes (default: one per core; 0: in this process).

    Returns
    -------
    xarray.Dataset
        The sweep, lazily, with short dimension names (:func:`open_sweep`).
    """
    from hydro.sweeps import run_sweep

    run_sweep(run_file, [(k, list(v)) for k, v in vary.items()], out, _overrides(overrides, keywords), workers=workers,
              detail=detail, progress=False)
    return open_sweep(out)


def open_results(path: str | Path, lazy: bool | None = None) -> xr.Dataset:
    """A results file written by ``hydro run`` (checked: version, provenance, checksums), dims (member, time, node).

    Parameters
    ----------
    lazy : bool or None
        Load on access (True), at once (False), or by the file's size (None).
    """
    from hydro.results import open_results as _open

    return _open(path, lazy=lazy)


def open_sweep(folder: str | Path, short_names: bool = True) -> xr.Dataset:
    """A sweep folder as one lazy Dataset with a dimension per varied key.

    With `short_names` each dimension is named by the key's last part (``withdrawal_km3``, ``rule``; the full key
    when two would clash), the full key in its ``key`` attribute.
    """
    from hydro.sweeps import open_sweep as _open

    ds = _open(folder)
    if not short_names:
        return ds
    keys = [d for d in ds.dims if d not in ("member", "time", "node")]
    short = {k: k.split(".")[-1] for k in keys}
    clash = {s for s in short.values() if list(short.values()).count(s) > 1 or s in ds.variables and s not in keys}
    names = {k: (s if s not in clash else k.replace(".", "_")) for k, s in short.items()}
    ds = ds.rename({k: v for k, v in names.items() if k != v})
    for k, v in names.items():
        ds[v].attrs["key"] = k
    return ds


def summary(ds: xr.Dataset, period: str = "all") -> pd.DataFrame:
    """Per state: annual mean demand, withdrawal and shortfall (km3/yr), shortfall (% of demand) and their 5-95 %
    bands, over the member-years of `period` ("all", "dry years", "normal years", "wet years", "growing season")."""
    from hydro.metrics import state_summary

    return state_summary(ds, period)


def by_state(da: xr.DataArray) -> xr.DataArray:
    """A (..., node) variable summed over each state's offtakes: dims (..., state). Works on lazily loaded (chunked)
    sweeps, where ``groupby("state")`` does not."""
    off = da.isel(node=(da.kind == "offtake").values) if "kind" in da.coords else da
    states = [s for s in dict.fromkeys(str(x) for x in off.state.values)]
    parts = [off.isel(node=(off.state == s).values).sum("node") for s in states]
    return xr.concat(parts, dim=pd.Index(states, name="state"))


def judge(run_file: str | Path, agreements: dict[str, dict], *, overrides: dict | None = None, **keywords) -> pd.DataFrame:
    """Judge named agreements side by side on the run file's members, years and parameter sets (``hydro negotiate
    --agreements-only``).

    Parameters
    ----------
    run_file : str or Path
        A run file with dry water years (e.g. ``runs/negotiate.toml``).
    agreements : dict of str to dict
        Name -> run-file settings, e.g. ``{"cap_4": {"qosh_tepa.withdrawal_km3": 4}}``.
    overrides, **keywords
        Run-file keys for every agreement, as for :func:`run`.

    Returns
    -------
    pandas.DataFrame
        One row per agreement: ``afg_withdrawal_km3`` and ``delta_inflow_km3`` (km3/yr), and for UZB, TKM and the two
        together the dry-year shortfall in % of their demand (``_dry_pct``) and its 90th percentile over the members
        (``_dry_p90_pct``).
    """
    from hydro import negotiation

    base = _overrides(overrides, keywords)
    settings = {name: list(values.items()) for name, values in agreements.items()}
    negotiation.check_agreements(run_file, base, settings)
    evaluator = negotiation.Evaluator(run_file, base)
    rows = []
    for name, values in settings.items():
        fig = evaluator.measure(values)
        fig.pop("_members_pct", None)
        rows.append({"agreement": name, **fig})
    return pd.DataFrame(rows).set_index("agreement")


def admissible(run_file: str | Path, rules: list[str], thresholds_pct: list[float], cap_max_km3: float = 12.0, *,
               overrides: dict | None = None, **keywords) -> pd.DataFrame:
    """The largest Qosh Tepa cap (km3/yr) keeping the UZB + TKM dry-year shortfall at or under each threshold (% of
    demand; ``measure`` "total") or letting Qosh Tepa add at most that much ("added"), per rule, with the members'
    5-95 % band and a plain run's check (``hydro negotiate``'s ``admissible.csv``)."""
    from hydro import negotiation

    evaluator = negotiation.Evaluator(run_file, _overrides(overrides, keywords))
    return negotiation.admissible(evaluator, list(rules), [float(x) for x in thresholds_pct], float(cap_max_km3))


def year_by_year(run_file: str | Path, *, overrides: dict | None = None, **keywords) -> pd.DataFrame:
    """Year by year as written (Qosh Tepa's build-out, a flow trend, Rogun's filling) and without Qosh Tepa: per water
    year, quantity and state, the members' mean and 5-95 % band (``hydro timeline``'s ``timeline.csv``)."""
    from hydro.timeline import run_timeline

    return run_timeline(run_file, _overrides(overrides, keywords))[0]
