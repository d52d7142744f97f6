"""Natural inflows as an array (member, time, inflow node) in hm3 per month.

- ``climatology``: every year the mean year: each inflow node's annual flow spread over the months by its
  regime (mean monthly discharge x days, normalised to the year).
- ``stochastic``: members of synthetic water years from :mod:`hydro.stochastic`, spread by the same regimes.
- ``year_type``: the mean year scaled to the annual flow at Kerki exceeded in a given share of years (a named
  year is the middle of its class, :func:`hydro.stochastic.named_exceedance`: "dry" 87.5 %, "normal" 50 %, "wet"
  12.5 % with the default classes), every year.
- ``historical``: recorded years replayed: the mean year scaled season by season by the basin's
  historical_years.csv (% of norm in Jan-Mar, Apr-Sep, Oct-Dec), calendar year after calendar year.
- ``series``: a CSV or netCDF of monthly mean discharges in m3/s, one column (or variable) per inflow node (any
  subset; the others keep the climatology) covering every month of the run.

``melt_shift_weeks`` moves every regime earlier by that many weeks before any of these is built (the year's
volume is unchanged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hydro.errors import Collector, ScenarioError, did_you_mean, read_failure
from hydro.network import Network
from hydro.timeaxis import TimeAxis
from hydro.units import m3s_to_hm3

MAX_DISCHARGE = 1e15  # m3/s: far above any river, far below what overflows a run's sums of hm3
MEAN_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def shift_earlier(shares: np.ndarray, weeks: float) -> np.ndarray:
    """Monthly shares (…, 12) moved earlier in the year by `weeks`: each month's volume spread evenly over its days,
    the 365-day cycle rolled, and summed back into months; the year's total is unchanged."""
    if not weeks:
        return shares
    daily = np.repeat(shares / MONTH_DAYS, MONTH_DAYS, axis=-1)  # (…, 365)
    daily = np.roll(daily, -int(round(7 * weeks)), axis=-1)
    edges = np.concatenate([[0], np.cumsum(MONTH_DAYS)[:-1]])
    out = np.add.reduceat(daily, edges, axis=-1)
    return out / out.sum(axis=-1, keepdims=True)


def regime_shares(network: Network, melt_shift_weeks: float = 0.0) -> np.ndarray:
    """(n_inflow, 12) share of the annual volume falling in each calendar month."""
    rows = []
    for name in network.inflow_regime:
        q = np.ones(12) if name == "uniform" else network.basin.regimes[name]
        v = q * MEAN_DAYS
        rows.append(v / v.sum())
    return shift_earlier(np.array(rows).reshape(len(network.inflow_regime), 12), melt_shift_weeks)


def climatology(network: Network, axis: TimeAxis, members: int = 1, melt_shift_weeks: float = 0.0) -> np.ndarray:
    """The mean year repeated: (members, T, n_inflow) hm3."""
    shares = regime_shares(network, melt_shift_weeks)  # (I, 12)
    monthly = network.inflow_annual[None, :] * shares[:, axis.calendar_month].T  # (T, I)
    return np.broadcast_to(monthly, (members, *monthly.shape)).copy()


def stochastic(network: Network, axis: TimeAxis, members: int, seed: int, params, melt_shift_weeks: float = 0.0) -> np.ndarray:
    """Synthetic members: (members, T, n_inflow) hm3; annual flows per water year from
    :func:`hydro.stochastic.annual_flows`, spread over the months by the regimes."""
    from hydro.stochastic import annual_flows

    first, last = int(axis.water_year.min()), int(axis.water_year.max())
    annual = annual_flows(params, members, last - first + 1, seed)  # (M, Y, I)
    shares = regime_shares(network, melt_shift_weeks)[:, axis.calendar_month].T  # (T, I)
    return annual[:, axis.water_year - first, :] * shares[None]


def forecast_columns(network: Network, point: str = "kerki") -> list[int]:
    """Positions of the inflow nodes upstream of `point` (all of them when the basin has no such node)."""
    if point not in network.names:
        return list(range(len(network.inflow_idx)))
    above = set(network.upstream_of(point))
    return [k for k, i in enumerate(network.inflow_idx) if network.names[i] in above]


def year_type_scale(network: Network, params, year: str | None, exceedance: float | None,
                    dry_exceedance: float = 0.75, wet_exceedance: float = 0.25) -> tuple[float, float]:
    """(factor on the mean year, its exceedance): the annual flow at Kerki exceeded in `exceedance` of years
    (or in the middle of the class named by `year`, :func:`hydro.stochastic.named_exceedance`), over the mean
    annual flow there."""
    from hydro.stochastic import flow_at_exceedance, named_exceedance, reference_sample

    p = float(exceedance) if exceedance is not None else named_exceedance(year or "normal", dry_exceedance, wet_exceedance)
    columns = forecast_columns(network)
    norm = float(params.mean[columns].sum())
    if norm <= 0:  # no natural flow at the forecast point: the mean year there is zero, nothing to scale
        return 1.0, p
    reference = reference_sample(params, columns)
    return flow_at_exceedance(p, reference) / norm, p


SEASON_MONTHS = {"jan_mar": [0, 1, 2], "apr_sep": [3, 4, 5, 6, 7, 8], "oct_dec": [9, 10, 11]}  # calendar months, 0 = Jan


def historical(network: Network, axis: TimeAxis, members: int, replay: list[int], melt_shift_weeks: float = 0.0) -> np.ndarray:
    """Recorded years replayed in turn, one per calendar year of the run: (members, T, n_inflow) hm3.

    Each season of a recorded year scales the mean year node by node (:func:`replay_factors`): the natural flow at
    Kerki is the year's published one; a river whose own flow is published (the Vakhsh, from Nurek's recorded
    inflow) gets it, and the other rivers above Kerki share the rest in proportion to their mean-year volumes."""
    base = climatology(network, axis, 1, melt_shift_weeks)[0]
    month = axis.calendar_month
    key = np.where(month < 3, "jan_mar", np.where(month < 9, "apr_sep", "oct_dec"))
    first = int(axis.year.min())
    factors = {}
    scale = np.empty_like(base)
    for t, (y, k) in enumerate(zip(axis.year, key)):
        year = replay[(int(y) - first) % len(replay)]
        if year not in factors:
            factors[year] = replay_factors(network, year, melt_shift_weeks)
        scale[t] = factors[year][k]
    return np.broadcast_to(base * scale, (members, *base.shape)).copy()


# published inflows of reservoirs that give the natural flow of the rivers above them in a replayed year
RESERVOIR_INFLOWS = {"nurek_inflow": "nurek"}


def season_norms_km3(network: Network, melt_shift_weeks: float = 0.0) -> dict[str, np.ndarray]:
    """Each inflow node's mean-year volume in Jan-Mar, Apr-Sep and Oct-Dec, (n_inflow,) km3."""
    shares = regime_shares(network, melt_shift_weeks)
    return {k: network.inflow_annual * shares[:, m].sum(axis=1) / 1000.0 for k, m in SEASON_MONTHS.items()}


def river_records(network: Network, year: int) -> list[tuple[list[int], float, float | None, str]]:
    """[(inflow positions, annual km3, Apr-Sep km3 or None, figure)] of the rivers whose own flow `year` publishes
    (a reservoir's inflow, :data:`RESERVOIR_INFLOWS`, when only natural inflow nodes lie above the reservoir)."""
    from hydro.hindcast import load_recorded

    if "recorded_figures" not in network.basin.files:
        return []
    recorded = {(r.figure, r.period): r.value_km3 for r in load_recorded(network.basin) if r.year == year}
    out = []
    for figure, node in RESERVOIR_INFLOWS.items():
        if (figure, "annual") not in recorded or node not in network.names:
            continue
        above = set(network.upstream_of(node))
        if any(network.kind_name[network.index(n)] in ("offtake", "terminal") for n in above):
            continue  # water is taken above the reservoir: its inflow is not the rivers' natural flow
        cols = [k for k, i in enumerate(network.inflow_idx) if network.names[i] in above]
        if cols:
            out.append((cols, recorded[(figure, "annual")], recorded.get((figure, "apr_sep")), figure))
    return out


def replay_factors(network: Network, year: int, melt_shift_weeks: float = 0.0) -> dict[str, np.ndarray]:
    """Per season, (n_inflow,) factors on the mean year that replay recorded `year` (see :func:`historical`)."""
    pct = percent_of_norm(network, year)
    factors = {k: np.full(len(network.inflow_idx), pct[k] / 100.0) for k in SEASON_MONTHS}
    rivers = river_records(network, year)
    if not rivers:
        return factors
    norm = season_norms_km3(network, melt_shift_weeks)
    kerki = forecast_columns(network)
    fixed = {k: 0.0 for k in SEASON_MONTHS}
    taken = set()
    for cols, annual, growing, _ in rivers:
        own = {k: float(norm[k][cols].sum()) for k in SEASON_MONTHS}
        total = sum(own.values())
        if total <= 0:
            continue
        growing = annual * own["apr_sep"] / total if growing is None else growing
        rest = max(annual - growing, 0.0)
        outside = own["jan_mar"] + own["oct_dec"]
        volumes = {"apr_sep": growing, "jan_mar": rest * own["jan_mar"] / outside if outside > 0 else 0.0}
        volumes["oct_dec"] = rest - volumes["jan_mar"]
        for k in SEASON_MONTHS:
            factors[k][cols] = volumes[k] / own[k] if own[k] > 0 else 0.0
            if set(cols) <= set(kerki):
                fixed[k] += volumes[k]
        taken |= set(cols)
    others = [c for c in kerki if c not in taken]
    for k in SEASON_MONTHS:
        at_kerki = float(norm[k][kerki].sum()) * pct[k] / 100.0  # the year's published flow at Kerki (kerki_norm_km3 x %)
        others_norm = float(norm[k][others].sum())
        if others and others_norm > 0:
            factors[k][others] = max(at_kerki - fixed[k], 0.0) / others_norm
    return factors


def kerki_norm_km3(network: Network) -> dict[str, float]:
    """The mean year's natural flow above Kerki in Jan-Mar, Apr-Sep and Oct-Dec, km3 (the basin's norm)."""
    columns = forecast_columns(network)
    return {k: float(v[columns].sum()) for k, v in season_norms_km3(network).items()}


def percent_of_norm(network: Network, year: int) -> dict[str, float]:
    """A recorded year's natural flow at Kerki by season in % of the basin's norm: as published, or (a yearbook
    giving volumes) its volumes over :func:`kerki_norm_km3`."""
    row = network.basin.historical[year]
    if row.get("kind", "pct") == "pct":
        return {k: row[k] for k in SEASON_MONTHS}
    norm = kerki_norm_km3(network)
    return {k: 100.0 * row[k] / norm[k] for k in SEASON_MONTHS}


def year_types(inflows: np.ndarray, network: Network, axis: TimeAxis, params, dry: float, wet: float):
    """Exceedance probability and type ('dry', 'normal', 'wet') of each member's water years, repeated on every
    month (members, T). A water year cut by the run's ends is judged on its months scaled up by their regime share.

    `inflows` in hm3 per month. A year with no natural flow at the forecast point is exceeded by every reference
    year (exceedance 1.0, dry), also in a basin whose mean flow there is zero (where any flow at all is wet)."""
    from hydro.stochastic import classify, exceedance, reference_sample

    columns = forecast_columns(network)
    reference = reference_sample(params, columns)
    flow = inflows[:, :, columns].sum(axis=2)  # (M, T)
    weight = params.mean[columns].astype(float)
    if weight.sum() <= 0:  # no mean flow to weight the regimes by: weight them equally
        weight = np.ones_like(weight)
    share = (weight[:, None] * regime_shares(network)[columns][:, axis.calendar_month]).sum(axis=0) / weight.sum()
    out_p = np.empty_like(flow)
    for wy in np.unique(axis.water_year):
        sel = axis.water_year == wy
        total, part = flow[:, sel].sum(axis=1), share[sel].sum()
        # months the regimes give no water: any flow in them is more than the reference year's, none is the least
        annual = total / part if part > 0 else np.where(total > 0, np.inf, 0.0)
        out_p[:, sel] = exceedance(annual, reference)[:, None]
    return out_p, classify(out_p, dry, wet)


NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf")
# CF calendars whose every date has a month 1-12: a time maps to one unambiguous YYYY-MM label
MONTH_CALENDARS = ("standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap", "366_day", "360_day")


def _netcdf_table(path: Path, problems: Collector) -> pd.DataFrame | None:
    """A netCDF series as the CSV's table: a 'month' column (YYYY-MM) and one column per variable on `time`.

    The values are monthly mean discharges in m3/s. The `time` coordinate (CF units "DAYS|HOURS|... since DATE"
    and a calendar) only labels each value with its year and month: any calendar of :data:`MONTH_CALENDARS`
    is accepted (a 360-day or no-leap model's months map one to one to the model's YYYY-MM), since volumes are
    computed with the run's own calendar (days of each real month), not with the file's. Each time must be the
    first of its month at 00:00 and each month must appear once."""
    import cftime
    import xarray as xr

    try:
        with xr.open_dataset(path, decode_times=False) as ds:
            if "time" not in ds.coords:
                problems.add("<coords>", list(ds.coords), "a 'time' coordinate at the first day of each month")
                return None
            time = ds["time"]
            units, calendar = time.attrs.get("units"), str(time.attrs.get("calendar", "standard"))
            if calendar.lower() not in MONTH_CALENDARS:
                problems.add("time", f"<calendar {calendar!r}>", f"a CF calendar whose months map to YYYY-MM: one of {list(MONTH_CALENDARS)}")
                return None
            if time.ndim != 1 or time.dtype.kind not in "iuf" or not isinstance(units, str) or " since " not in units:
                problems.add("time", f"<{time.dtype} values, units {units!r}>",
                             "a datetime-like coordinate: numbers with CF units such as 'days since 2000-01-01 00:00' (and a calendar)")
                return None
            try:
                stamps = cftime.num2date(np.asarray(time.values), units, calendar.lower(), only_use_cftime_datetimes=True)
            except (ValueError, TypeError, OverflowError) as err:
                problems.add("time", f"<units {units!r}, calendar {calendar!r}: {err}>", "times that CF units and calendar can decode")
                return None
            off = [t for t in stamps if (t.day, t.hour, t.minute, t.second) != (1, 0, 0, 0)]
            for t in off[:5]:
                problems.add("time", str(t), "month starts (YYYY-MM-01 00:00): the series is not aligned on calendar months")
            labels = pd.Index([f"{t.year:04d}-{t.month:02d}" for t in stamps])
            for i in np.flatnonzero(labels.duplicated())[:5]:
                problems.add(f"time[{i}]", str(stamps[i]), f"each month once ({labels[i]} is given more than once)")
            columns = {}
            for name in ds.data_vars:
                var = ds[name]
                if var.dims != ("time",):
                    problems.add(f"variable {name!r}", f"<dims {var.dims}>", "one variable per inflow node on the time dimension only")
                elif var.dtype.kind not in "iuf":
                    problems.add(f"variable {name!r}", f"<{var.dtype} values>", "monthly discharges in m3/s as numbers")
                else:
                    columns[name] = var.values.astype(float)
    except (OSError, ValueError) as err:
        problems.add("<netcdf>", str(err).splitlines()[0], "a readable netCDF file")
        return None
    return pd.DataFrame({"month": labels, **columns})


def read_series(path: str | Path, network: Network, axis: TimeAxis, members: int = 1, melt_shift_weeks: float = 0.0) -> np.ndarray:
    """Monthly inflows (m3/s) from a CSV with a 'month' column, or a netCDF file with a 'time' coordinate and one
    variable per inflow node; nodes not given keep the climatology. (members, T, n_inflow) hm3."""
    path = Path(path)
    problems = Collector(path)
    if not path.is_file():
        problems.add("<file>", str(path), "a CSV of monthly inflows in m3/s with a 'month' column (YYYY-MM), or a netCDF file")
        raise ScenarioError(problems.problems)
    if path.suffix.lower() in NETCDF_SUFFIXES:
        table = _netcdf_table(path, problems)
        if table is None or problems:
            raise ScenarioError(problems.problems)
    else:
        try:
            table = pd.read_csv(path, dtype={"month": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            problems.add("<csv>", str(err).splitlines()[0], "a comma-separated table with a header row")
            raise ScenarioError(problems.problems) from err
        except (UnicodeDecodeError, OSError) as err:
            problems.add(*read_failure(err, "a readable CSV file of monthly inflows in m3/s"))
            raise ScenarioError(problems.problems) from err
    if "month" not in table.columns:
        problems.add("<header>", list(table.columns), "a 'month' column (YYYY-MM) and one column per inflow node (m3/s)")
        raise ScenarioError(problems.problems)
    inflow_names = [network.names[i] for i in network.inflow_idx]
    for col in table.columns:
        if col != "month" and col not in inflow_names:
            problems.add(f"column {col!r}", "<unknown node>", "an inflow node: " + did_you_mean(col, inflow_names))
    months = pd.PeriodIndex(pd.to_datetime(table["month"], format="%Y-%m", errors="coerce"), freq="M")
    bad = table["month"][months.isna()]
    for row, text in bad.items():
        problems.add(f"row {row + 2}, month", text, "a month as YYYY-MM")
    dup = table["month"][table["month"].duplicated()]
    for row, text in dup.items():
        problems.add(f"row {row + 2}, month", text, "each month once")
    wanted = pd.PeriodIndex([str(m) for m in axis.month_starts], freq="M")
    missing = wanted.difference(months.dropna())
    if len(missing):
        problems.add("month", f"<{len(missing)} month{'s' if len(missing) != 1 else ''} of the run missing, the first {missing[0]}>", f"every month from {wanted[0]} to {wanted[-1]}")
    for col in table.columns:
        if col == "month" or col not in inflow_names:
            continue
        values = pd.to_numeric(table[col], errors="coerce")
        for row in values.index[~np.isfinite(values)]:
            cell = table[col][row]
            shown = "<empty>" if pd.isna(cell) else str(cell)
            problems.add(f"row {row + 2}, {col}", shown, "a finite discharge in m3/s (no gaps, NaN or inf)")
        for row in values.index[values < 0]:
            problems.add(f"row {row + 2}, {col}", float(values[row]), "a discharge >= 0 m3/s")
        for row in values.index[values >= MAX_DISCHARGE]:
            problems.add(f"row {row + 2}, {col}", float(values[row]), f"a discharge below {MAX_DISCHARGE:g} m3/s (larger ones overflow the model's sums)")
    if problems:
        raise ScenarioError(problems.problems)

    out = climatology(network, axis, 1, melt_shift_weeks)[0]
    lookup = pd.Series(np.arange(len(table)), index=months)
    rows = lookup.reindex(wanted).to_numpy()
    for col in table.columns:
        if col == "month":
            continue
        k = inflow_names.index(col)
        out[:, k] = m3s_to_hm3(table[col].to_numpy(dtype=float)[rows], axis.days)
    return np.broadcast_to(out, (members, *out.shape)).copy()
