"""Charts of results (matplotlib). Each function takes ``ax=None`` (a new figure when None) and returns the axes it
drew on; figures are at most A4 landscape wide (11.7 in) with text of 8 pt or more. Volumes come in as hm3 per
month (the results' unit) and are shown in km3; states keep the colours of :data:`STATE_COLOURS` everywhere.
"""

from __future__ import annotations

import json
import textwrap
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from hydro.metrics import STATE_ORDER, monthly_shortfall_by_state  # noqa: E402

STATE_COLOURS = {"AFG": "#4d4d4d", "TJK": "#1b9e77", "UZB": "#2c7fb8", "TKM": "#d95f02", "KGZ": "#7570b3", "KAZ": "#e7298a"}
WATER_YEAR_MONTHS = ["Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"]
WATER_YEAR_ORDER = [10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9]
# reservoirs are not states: their own colours, none of them a state's
RESERVOIR_COLOURS = {"nurek": "#984ea3", "rogun": "#a65628", "tuyamuyun": "#c79a00"}
OTHER_COLOURS = ["#e41a1c", "#4daf4a", "#f781bf", "#999999"]
RULE_STYLES = ["-", "--", ":", "-."]
QT_KEY = "qosh_tepa.withdrawal_km3"  # the sweep dimension of the Qosh Tepa target
A4_WIDTH = 11.7  # inches, A4 landscape
TITLE_PT = 10


# --- small data helpers (private) --------------------------------------------------------------------------------

def _new_axes(ax, figsize):
    return ax if ax is not None else plt.subplots(figsize=figsize, constrained_layout=True)[1]


def _single_run(ds: xr.Dataset, what: str) -> xr.Dataset:
    """`ds` with size-one extra dimensions dropped; an error naming the others (a sweep point must be chosen)."""
    extra = [d for d in ds.dims if d not in ("member", "time", "node")]
    big = [d for d in extra if ds.sizes[d] > 1]
    if big:
        raise ValueError(f"{what} draws one run: select one value of {', '.join(big)} first, "
                         f"e.g. ds.sel({{{big[0]!r}: ...}}) or ds.isel({{{big[0]!r}: 0}})")
    return ds.isel({d: 0 for d in extra}) if extra else ds


def _fmt(value) -> str:
    return f"{float(value):g}"


def _scenario_line(ds: xr.Dataset) -> str:
    """What run this is, from its attributes and scalar coordinates: title, rule, Qosh Tepa target, ensemble size."""
    parts = []
    head = str(ds.attrs.get("title") or "")
    if head:
        parts.append(head)
    if "rule" in ds.dims:
        parts.append(("rules " if ds.sizes["rule"] > 1 else "rule ") + ", ".join(str(r) for r in ds.rule.values))
    elif "rule" in ds.coords:
        parts.append(f"rule {ds.rule.values.item()}")
    elif ds.attrs.get("rule"):
        parts.append(f"rule {ds.attrs['rule']}")
    level = None
    if QT_KEY in ds.coords and QT_KEY not in ds.dims:
        level = ds[QT_KEY].values
    elif "qosh_tepa_km3" in ds.coords and "qosh_tepa_km3" not in ds.dims:
        level = ds["qosh_tepa_km3"].values
    elif QT_KEY not in ds.dims and "qosh_tepa_km3" not in ds.dims and "qosh_tepa_withdrawal_km3" in ds.attrs:
        level = ds.attrs["qosh_tepa_withdrawal_km3"]
    # the run file's title may already say the level (it is not changed by --set: say it when it differs)
    if level is not None and not ("Qosh Tepa" in head and any(f"{_fmt(level)} {u}" in head for u in ("km3", "km³"))):
        parts.append(f"Qosh Tepa target {_fmt(level)} km³/yr")
    try:  # a reservoir the run file switches on (Rogun is off unless a run says so)
        switched = json.loads(ds.attrs.get("run_config_json") or "{}").get("reservoirs", {})
    except (TypeError, ValueError):
        switched = {}
    parts += [f"{name.replace('_', ' ').capitalize()} on" for name, table in sorted(switched.items())
              if isinstance(table, dict) and table.get("enabled") is True]
    scale = ds.attrs.get("hydrology_scale")
    if scale is not None and float(scale) != 1.0:
        parts.append(f"natural inflow × {_fmt(scale)}")
    if "member" in ds.dims and "time" in ds.dims:
        members, n_years = ds.sizes["member"], ds.sizes["time"] / 12
        parts.append(f"{members} member{'s' if members != 1 else ''} × {n_years:g} years")
    return ", ".join(parts)


def _literal(text) -> str:
    """User text (a run's title, a province name) as matplotlib shows it literally: every ``$`` escaped, so that
    ``cost $x^{2 $`` is drawn as written instead of being parsed (and failing) as TeX mathtext."""
    return str(text).replace("$", r"\$")


def _set_title(ax, subject: str, ds: xr.Dataset | None, title: str | None) -> None:
    """`title` when given, else the chart's subject over the scenario line; wrapped to the axes' width; shown
    literally (no mathtext)."""
    text = title if title is not None else subject + ("\n" + _scenario_line(ds) if ds is not None else "")
    width_in = min(1.0, ax.get_position().width + 0.12) * ax.figure.get_figwidth()  # the width after layout, roughly
    chars = max(int(width_in * 72 / (0.5 * TITLE_PT)), 40)
    lines = [textwrap.fill(line, chars) for line in text.split("\n")]
    ax.set_title(_literal("\n".join(lines)), fontsize=TITLE_PT)


def _offtakes_of(ds: xr.Dataset, state: str | None = None) -> np.ndarray:
    kind, st = np.asarray(ds.kind.values), np.asarray(ds.state.values)
    sel = kind == "offtake"
    if state is not None:
        sel &= st == state
    return np.flatnonzero(sel)


def _state_sum(ds: xr.Dataset, variable: str, state: str) -> xr.DataArray:
    """`variable` summed over the offtakes of `state` (hm3 per month; every other dimension kept)."""
    return ds[variable].isel(node=_offtakes_of(ds, state)).sum("node")


def _states(ds: xr.Dataset, wanted=None) -> list[str]:
    present = set(np.asarray(ds.state.values)[_offtakes_of(ds)])
    order = [s for s in STATE_ORDER if s in present] + sorted(present - set(STATE_ORDER))
    return [s for s in order if s in wanted] if wanted is not None else order


def _colour(state: str, k: int = 0) -> str:
    return STATE_COLOURS.get(state, OTHER_COLOURS[k % len(OTHER_COLOURS)])


def _water_year_totals(da: xr.DataArray) -> xr.DataArray:
    """Sum over the months of each water year (complete water years only): dim ``water_year`` replaces ``time``."""
    counts = da.water_year.to_series().value_counts()
    whole = sorted(int(y) for y, n in counts.items() if n == 12)
    if not whole:
        raise ValueError("the run has no complete water year (October-September)")
    da = da.sel(time=np.isin(da.water_year.values, whole))
    return da.groupby("water_year").sum("time")


# --- existing charts ---------------------------------------------------------------------------------------------

def shortfall_by_month(ds: xr.Dataset, ax=None):
    """Mean shortfall per calendar month (water-year order) and state, km3 per month, as grouped bars."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    monthly = monthly_shortfall_by_state(ds)  # (time, state) hm3
    month = monthly.time.dt.month
    clim = monthly.groupby(month).mean("time") / 1000.0
    order = WATER_YEAR_ORDER
    states = [s for s in STATE_ORDER if s in clim.state.values]
    width = 0.8 / max(len(states), 1)
    x = np.arange(12)
    for j, s in enumerate(states):
        vals = clim.sel(state=s).reindex(month=order).fillna(0).values
        ax.bar(x + (j - (len(states) - 1) / 2) * width, vals, width, label=s, color=STATE_COLOURS.get(s))
    ax.set_xticks(x, WATER_YEAR_MONTHS)
    ax.set_ylabel("shortfall (km³ per month)")
    ax.set_xlabel("month (water year Oct-Sep)")
    ax.legend(title="state", ncols=len(states), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax


def shortfall_by_year(ds: xr.Dataset, ax=None):
    """Shortfall per water year and state, km3/yr (member mean), as lines."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    monthly = monthly_shortfall_by_state(ds)
    annual = monthly.groupby(ds.water_year).sum("time") / 1000.0
    for s in [s for s in STATE_ORDER if s in annual.state.values]:
        ax.plot(annual.water_year, annual.sel(state=s), marker="o", ms=3, label=s, color=STATE_COLOURS.get(s))
    ax.set_ylabel("shortfall (km³/yr)")
    ax.set_xlabel("water year (ending September)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole water years, however few
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="state", fontsize=8)
    return ax


def shortfall_figure(ds: xr.Dataset, title: str):
    """The run's shortfall chart: by month of the year (top) and by water year (bottom)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.3, 8), constrained_layout=True)
    shortfall_by_month(ds, top)
    top.set_title("Mean monthly shortfall by state")
    shortfall_by_year(ds, bottom)
    bottom.set_title("Annual shortfall by state")
    fig.suptitle(_literal(title), fontsize=11)
    return fig


SAVE_FORMATS = ("png", "svg", "pdf")


def save(fig, path, fmt: str = "png") -> None:
    """Save and close a figure; `fmt` is "png" (150 dpi), "svg" or "pdf", given explicitly (the path may be a
    temporary name). SVG and PDF keep no creation date and SVG uses fixed element ids, so the same figure gives the
    same bytes."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        plt.close(fig)
        raise ValueError(f"chart format {fmt!r}: expected one of {', '.join(SAVE_FORMATS)}")
    metadata = {"png": None, "svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    try:
        with matplotlib.rc_context({"svg.hashsalt": "amu-hydro"}), warnings.catch_warnings():
            # a user's title may hold characters the font lacks: they are drawn as boxes, not an error
            warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
            fig.savefig(path, format=fmt, dpi=150, metadata=metadata)
    finally:
        plt.close(fig)


def rule_comparison(table, qosh_tepa_km3: float, period: str = "all", ax=None, legend: bool = True, title: str | None = None):
    """Shortfall in % of demand by state (groups) and rule (bars), for one Qosh Tepa level and period of the
    compare table (:func:`hydro.comparison.compare`). The panel title says the Qosh Tepa level and period, after
    `title` (or the table's ``attrs["title"]``) when given."""
    ax = _new_axes(ax, (8.3, 4))
    sel = table[(table.qosh_tepa_km3 == qosh_tepa_km3) & (table.period == period)]
    if sel.empty:
        raise ValueError(f"the table has no rows for Qosh Tepa {qosh_tepa_km3:g} km3/yr and period {period!r}")
    rules = list(dict.fromkeys(sel.rule))
    states = [s for s in STATE_ORDER if s in set(sel.state)] + sorted(set(sel.state) - set(STATE_ORDER))
    width = 0.8 / max(len(rules), 1)
    x = np.arange(len(states))
    colours = plt.get_cmap("tab10")
    for j, rule in enumerate(rules):
        vals = [float(sel[(sel.rule == rule) & (sel.state == s)].shortfall_pct.iloc[0]) if ((sel.rule == rule) & (sel.state == s)).any() else 0.0
                for s in states]
        bars = ax.bar(x + (j - (len(rules) - 1) / 2) * width, vals, width, label=rule, color=colours(j))
        ax.bar_label(bars, labels=[f"{v:.0f}" if v >= 0.5 else "" for v in vals], fontsize=8, padding=1)
    ax.set_xticks(x, states)
    for tick, s in zip(ax.get_xticklabels(), states):
        tick.set_color(_colour(s))
    ax.set_xlabel("state")
    ax.set_ylabel("shortfall (% of demand)")
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
    panel = f"Qosh Tepa {qosh_tepa_km3:g} km³/yr, {period}"
    scenario = title if title is not None else getattr(table, "attrs", {}).get("title")
    _set_title(ax, panel, None, f"{scenario}\n{panel}" if scenario else panel)
    ax.grid(axis="y", alpha=0.3)
    if legend:
        ax.legend(title="rule", fontsize=8, title_fontsize=8, ncols=min(len(rules), 3))
    return ax


def comparison_figure(table, title: str):
    """A grid of panels, A4 landscape: one column per Qosh Tepa level, one row for the whole run and, when the run
    has dry years, one for them; one legend for all."""
    levels = sorted(set(table.qosh_tepa_km3))
    periods = ["all"] + (["dry years"] if (table.period == "dry years").any() else [])
    fig, axes = plt.subplots(len(periods), len(levels), figsize=(11.7, 0.6 + 3.4 * len(periods)), constrained_layout=True,
                             squeeze=False, sharey=True)
    top = max(float(table.shortfall_pct.max()), 1.0) * 1.15
    for r, period in enumerate(periods):
        for c, level in enumerate(levels):
            rule_comparison(table, level, period, axes[r, c], legend=False, title="")
            axes[r, c].set_ylim(0, top)
            if c:
                axes[r, c].set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, title="rule", loc="outside lower center", ncols=len(labels) if len(labels) <= 4 else 3, fontsize=9)
    fig.suptitle(_literal(title), fontsize=12)
    return fig


# --- issue 6: sweep, heatmap, exceedance, map, reservoirs, delta -------------------------------------------------

def shortfall_vs_withdrawal(sweep_ds: xr.Dataset, rule: str | None = None, ax=None, states=("UZB", "TKM"), unit: str = "%",
                            title: str | None = None):
    """Shortfall of each state against Qosh Tepa's withdrawal target, from a sweep (:func:`hydro.open_sweep`).

    Line: the median over members of each member's shortfall over the whole run (sum of shortfall / sum of demand
    of the state's offtakes, in % of demand; ``unit="km3"``: km3/yr). Band, per state (and rule): from the mean
    over the *wet* member-years (lower edge) to the mean over the *dry* member-years (upper edge), each the
    shortfall summed over those member-years over the demand summed over them (the sweep's ``year_type``
    coordinate: dry = natural flow at Kerki exceeded in >= 75 % of years, wet <= 25 %); no band when the run has
    no such years. With ``unit="%"`` and the same annual demand for every state drawn, a right-hand axis gives the
    same scale in km3/yr.

    When ``rule`` is a dimension of the sweep, each rule gets a line style (``rule=`` picks one); any other varied
    key must be selected first (``sweep_ds.sel(...)``).
    """
    if QT_KEY not in sweep_ds.dims:
        raise ValueError(f"shortfall_vs_withdrawal needs a sweep over {QT_KEY} (hydro sweep --vary {QT_KEY}=0:12:1)")
    if unit not in ("%", "km3"):
        raise ValueError(f"unit {unit!r}: expected '%' or 'km3'")
    ds = sweep_ds
    if rule is not None:
        if "rule" in ds.dims:
            ds = ds.sel(rule=[rule])
        elif ds.attrs.get("rule", rule) != rule:
            raise ValueError(f"the sweep ran rule {ds.attrs['rule']!r}, not {rule!r}")
    extra = [d for d in ds.dims if d not in ("member", "time", "node", QT_KEY, "rule")]
    if any(ds.sizes[d] > 1 for d in extra):
        raise ValueError(f"select one value of {', '.join(d for d in extra if ds.sizes[d] > 1)} first, e.g. sweep_ds.sel(...)")
    ds = ds.isel({d: 0 for d in extra})
    rules = [str(r) for r in ds.rule.values] if "rule" in ds.dims else [None]
    ax = _new_axes(ax, (8.3, 5))
    x = np.asarray(ds[QT_KEY].values, dtype=float)
    n_years = ds.sizes["time"] / 12.0
    masks = {}
    if "year_type" in ds.coords:
        from hydro.metrics import member_years

        for kind in ("dry", "wet"):
            mask = ds.year_type.load() == kind
            n = member_years(ds, mask)
            if n:
                masks[kind] = (mask, n)
    drawn = _states(ds, states)
    if not drawn:
        raise ValueError(f"the sweep has no offtakes of {', '.join(states)}")
    dodge = 0.7 * (float(np.min(np.diff(x))) if x.size > 1 else 1.0) / (2 * len(drawn) * len(rules))
    demand_km3 = {}
    for k, state in enumerate(drawn):
        short = _state_sum(ds, "shortfall", state).astype(float).load()
        demand = _state_sum(ds, "demand", state).astype(float).load()
        demand_km3[state] = (demand.sum("time") / n_years / 1000.0).mean("member").values
        if unit == "%":
            line = (100.0 * short.sum("time") / demand.sum("time").where(demand.sum("time") > 0)).median("member")
            band = {kind: 100.0 * short.where(m, 0).sum(("member", "time")) / demand.where(m, 0).sum(("member", "time"))
                    for kind, (m, _) in masks.items()}
        else:
            line = (short.sum("time") / n_years / 1000.0).median("member")
            band = {kind: short.where(m, 0).sum(("member", "time")) / n / 1000.0 for kind, (m, n) in masks.items()}
        for j, r in enumerate(rules):
            def pick(da, r=r):
                return da.sel(rule=r) if r is not None else da

            colour, style = _colour(state, k), RULE_STYLES[j % len(RULE_STYLES)]
            label = state if len(rules) == 1 else f"{state}, {r}"
            ax.plot(x, pick(line).transpose(QT_KEY).values, style, color=colour, marker="o", ms=4, lw=1.8, label=label, zorder=3)
            if len(masks) < 2:
                continue
            wet, dry = pick(band["wet"]).transpose(QT_KEY).values, pick(band["dry"]).transpose(QT_KEY).values
            if len(rules) == 1:
                ax.fill_between(x, wet, dry, color=colour, alpha=0.15, lw=0)
                for edge in (wet, dry):
                    ax.plot(x, edge, color=colour, lw=0.8, alpha=0.8)
            else:  # several rules: the bands as bars beside each point, one per state and rule
                slot = k * len(rules) + j - (len(drawn) * len(rules) - 1) / 2
                ax.vlines(x + slot * dodge, wet, dry, color=colour, linestyles=style, lw=2.0, alpha=0.55)
    heading = "lines: median over members of each member's shortfall over the run"
    if len(masks) == 2:
        what = (f"wet-year mean (low) to dry-year mean (high), {masks['dry'][1]} dry and {masks['wet'][1]} wet member-years")
        heading += "\n" + ("bands: " if len(rules) == 1 else "bars beside each point: ") + what
    else:
        heading += "\n(no dry or no wet water year in the sweep: no bands)"
    ax.legend(title=heading, fontsize=8, title_fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncols=len(drawn), handlelength=3, frameon=False)
    pad = (len(drawn) * len(rules) / 2 + 0.5) * dodge if len(rules) > 1 and len(masks) == 2 else 0.0
    ax.set_xlim(x.min() - pad, x.max() + pad)
    if len(x) <= 13:
        ax.set_xticks(x)
    ax.set_xlabel("Qosh Tepa withdrawal target (km³/yr)")
    ax.set_ylabel("shortfall (% of demand)" if unit == "%" else "shortfall (km³/yr)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    values = np.concatenate([np.ravel(v) for v in demand_km3.values()])
    if unit == "%" and values.size and values.mean() > 0 and np.ptp(values) <= 0.005 * values.mean():
        d = float(values.mean())
        right = ax.secondary_yaxis("right", functions=(lambda p: p * d / 100.0, lambda q: q * 100.0 / d))
        right.set_ylabel(f"shortfall (km³/yr; demand {d:.1f} km³/yr per state)")
    _set_title(ax, f"Shortfall of {' and '.join(drawn)} against Qosh Tepa's withdrawal", ds, title)
    return ax


def sweep_overview(table, states=("UZB", "TKM"), rules=None, key: str = QT_KEY):
    """Shortfall against the Qosh Tepa level from a sweep's table (sweep.csv): one panel per state, one colour per
    rule, all years solid with its 5-95 % band shaded, dry years dashed (km3/yr)."""
    rules = list(rules) if rules is not None else (list(dict.fromkeys(table.rule)) if "rule" in table else [None])
    fig, axes = plt.subplots(1, len(states), figsize=(4.4 * len(states), 3.8), sharey=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    palette = plt.get_cmap("tab10")
    for ax, state in zip(axes, states):
        for k, rule in enumerate(rules):
            rows = table[(table.state == state) & ((table.rule == rule) if rule is not None and "rule" in table else True)].sort_values(key)
            x = rows[key].to_numpy(dtype=float)
            colour = palette(k)
            ax.plot(x, rows.shortfall_km3, "-o", color=colour, ms=3, lw=1.8, label=f"{rule or ''} all years".strip())
            if "shortfall_km3_p05" in rows:
                ax.fill_between(x, rows.shortfall_km3_p05, rows.shortfall_km3_p95, color=colour, alpha=0.15, lw=0)
            if "dry_shortfall_km3" in rows and rows.dry_shortfall_km3.notna().any():
                ax.plot(x, rows.dry_shortfall_km3, "--", color=colour, lw=1.5, label=f"{rule or ''} dry years".strip())
        ax.set_title(state, fontsize=10)
        ax.set_xlabel("Qosh Tepa withdrawal (km³/yr)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("shortfall (km³/yr)")
    axes[0].legend(fontsize=8)
    return fig


def tradeoff(table, key: str, energy_state: str = "TJK", water_states=("UZB", "TKM"), title: str = ""):
    """The water-energy trade-off across a sweep of an operating key (sweep.csv): x the growing-season (April-
    September) shortfall of `water_states` together (km3 per season), y the winter (October-March) hydropower of
    `energy_state`'s plants (TWh); one line per value of any other varied key, each point labelled with `key`'s value;
    all years solid with the shortfall's 5-95 % band as whiskers, dry years dashed."""
    others = [c for c in table.columns if c not in (key, "state") and not c.endswith(("_km3", "_pct", "_twh", "_p05", "_p95"))
              and table[c].nunique() > 1]
    groups = table.groupby(others, sort=False) if others else [((), table)]
    fig, ax = plt.subplots(figsize=(8.3, 5.0), constrained_layout=True)
    palette = plt.get_cmap("tab10")
    for k, (value, rows) in enumerate(groups):
        label = ", ".join(f"{o.split('.')[-1]} {_fmt(v)}" for o, v in zip(others, np.atleast_1d(value))) if others else ""
        water = rows[rows.state.isin(water_states)].groupby(key, sort=True)
        power = rows[rows.state == energy_state].set_index(key).sort_index()
        if power.empty or "energy_winter_twh" not in power:
            raise ValueError(f"the sweep has no hydropower for {energy_state}: its plants' energy columns are empty")
        for prefix, style in (("", "-o"), ("dry_", "--s")):
            x = water[f"{prefix}growing_shortfall_km3"].sum()
            y = power[f"{prefix}energy_winter_twh"].reindex(x.index)
            if not np.isfinite(x.to_numpy(dtype=float)).any():
                continue
            colour = palette(k)
            ax.plot(x, y, style, color=colour, ms=4, lw=1.6, label=f"{label + ': ' if label else ''}{'dry years' if prefix else 'all years'}")
            if not prefix and "growing_shortfall_km3_p05" in rows:
                lo, hi = water["growing_shortfall_km3_p05"].sum(), water["growing_shortfall_km3_p95"].sum()
                ax.hlines(y, lo.reindex(x.index), hi.reindex(x.index), color=colour, alpha=0.35, lw=1)
            for xv, yv, v in zip(x, y, x.index):
                ax.annotate(_fmt(v), (xv, yv), textcoords="offset points", xytext=(4, 4), fontsize=7, color=colour)
    ax.set_xlabel(f"{' + '.join(water_states)} growing-season shortfall (km³ per April-September)")
    ax.set_ylabel(f"{energy_state} winter hydropower (TWh, October-March)")
    ax.set_title(title or f"Water against energy as {key} varies\n(labels: its value; whiskers: the states' 5-95 % bands summed)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def negotiation_front(table, references: dict, title: str = ""):
    """The negotiation front (hydro negotiate's pareto.csv): per downstream state (UZB, TKM), x what Afghanistan's
    Qosh Tepa takes (km3/yr), y the state's dry-year shortfall (90th percentile over the members, % of demand);
    the Pareto set coloured by rule, the other agreements searched in grey, `references` (name -> row: "no
    agreement", "status quo", "best compromise", named agreements) marked and labelled; shaded: at least as good
    as no agreement for every party (more water for Afghanistan, no more dry-year loss for either state)."""
    fig, axes = plt.subplots(1, 2, figsize=(11.7, 5.0), constrained_layout=True, sharey=True)
    palette = plt.get_cmap("tab10")
    rules = list(dict.fromkeys(table.rule))
    none = references.get("no agreement")
    for ax, state in zip(axes, ("UZB", "TKM")):
        y = f"{state}_dry_p90_pct"
        rest = table[~table.pareto]
        ax.scatter(rest.afg_withdrawal_km3, rest[y], s=6, color="0.8", label="searched, dominated or infeasible")
        for k, rule in enumerate(rules):
            front = table[table.pareto & (table.rule == rule)]
            ax.scatter(front.afg_withdrawal_km3, front[y], s=18, color=palette(k), label=f"Pareto set, rule {rule}")
        if none is not None:
            x0, y0 = none["afg_withdrawal_km3"], none[y]
            ax.fill_between([x0, max(float(table.afg_withdrawal_km3.max()), x0) + 0.2], 0, y0, color="#2ca02c", alpha=0.12,
                            label="better for every party than no agreement" if state == "UZB" else None)
        for name, row in references.items():
            marker = {"no agreement": "X", "status quo": "*", "best compromise": "P"}.get(name, "D")
            ax.scatter([row["afg_withdrawal_km3"]], [row[y]], s=90 if marker != "D" else 40, marker=marker, color="black", zorder=5)
            ax.annotate(_literal(name), (row["afg_withdrawal_km3"], row[y]), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.set_xlabel("Qosh Tepa's withdrawal, Afghanistan (km³/yr, mean)")
        ax.set_title(f"{state}: dry-year shortfall, 90th percentile of the members", fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel("shortfall in dry years (% of demand)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(_literal(title), fontsize=11)
    return fig


def timeline_figure(table, title: str = ""):
    """The timeline (hydro timeline's timeline.csv), three panels over the water years: Qosh Tepa's withdrawal and
    the flow at Kerki (km3/yr); UZB's and TKM's shortfall and what Qosh Tepa adds to it (% of demand); each state's
    leverage score; lines the members' mean, bands their 5-95 %."""
    fig, axes = plt.subplots(3, 1, figsize=(8.3, 10.5), constrained_layout=True, sharex=True)

    def series(quantity, state):
        rows = table[(table.quantity == quantity) & (table.state == state)].sort_values("water_year")
        return rows.water_year.to_numpy(), rows["mean"].to_numpy(), rows.p05.to_numpy(), rows.p95.to_numpy()

    ax = axes[0]
    for quantity, state, label, colour in (("qosh_tepa_withdrawal", "AFG", "Qosh Tepa's withdrawal", STATE_COLOURS["AFG"]),
                                           ("kerki_flow", "", "flow at Kerki (right axis)", "#1f78b4")):
        x, m, lo, hi = series(quantity, state)
        target = ax if quantity == "qosh_tepa_withdrawal" else ax.twinx()
        target.plot(x, m, "-o", ms=3, color=colour, label=label)
        target.fill_between(x, lo, hi, color=colour, alpha=0.15)
        target.set_ylabel(f"{label.replace(' (right axis)', '')} (km³/yr)", color=colour, fontsize=9)
    ax.set_title("Qosh Tepa built out and the river", fontsize=10)
    ax = axes[1]
    for state in ("UZB", "TKM"):
        for quantity, style, what in (("shortfall_pct", "-", "shortfall"), ("qosh_tepa_added_pct", "--", "added by Qosh Tepa")):
            x, m, lo, hi = series(quantity, state)
            ax.plot(x, m, style, color=STATE_COLOURS[state], label=f"{state} {what}")
            if quantity == "shortfall_pct":
                ax.fill_between(x, lo, hi, color=STATE_COLOURS[state], alpha=0.12)
    ax.set_ylabel("% of demand")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncols=2)
    ax.set_title("Shortfall in each year (mean of the members, band 5-95 %)", fontsize=10)
    ax = axes[2]
    for state in sorted(set(table[table.quantity == "leverage_score"].state)):
        x, m, lo, hi = series("leverage_score", state)
        colour = STATE_COLOURS.get(state, "0.4")
        ax.plot(x, m, "-o", ms=3, color=colour, label=state)
        ax.fill_between(x, lo, hi, color=colour, alpha=0.12)
    ax.set_ylabel("leverage score (0-1)")
    ax.set_xlabel("water year (October-September, named by its September)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncols=5)
    ax.set_title("Afghanistan's leverage over each state (band: each member's own water exposure)", fontsize=10)
    for a in axes:
        a.grid(alpha=0.3)
    fig.suptitle(_literal(title), fontsize=11)
    return fig


def _monthly_shortfall_pct(ds: xr.Dataset, by: str = "province") -> tuple[np.ndarray, list[str], list[str]]:
    """Shortfall in % of demand per offtake group (rows, upstream first) and month of the water year (12 columns,
    Oct-Sep): shortfall summed over members, years and the group's offtakes over demand summed likewise; NaN
    where there is no demand. `by` is "province" or "offtake". Returns (values, row labels, row states)."""
    if by not in ("province", "offtake"):
        raise ValueError(f"by={by!r}: expected 'province' or 'offtake'")
    ds = _single_run(ds, "shortfall_heatmap")
    idx = _offtakes_of(ds)
    off = ds.isel(node=idx)
    month = off.time.dt.month
    short = off.shortfall.sum("member").groupby(month).sum("time").reindex(month=WATER_YEAR_ORDER, fill_value=0.0)
    demand = off.demand.sum("member").groupby(month).sum("time").reindex(month=WATER_YEAR_ORDER, fill_value=0.0)
    keys = [str(p) for p in off.province.values] if by == "province" else [str(n) for n in off.node.values]
    groups = list(dict.fromkeys(keys))
    rows, labels, row_states = [], [], []
    for g in groups:
        cols = [i for i, key in enumerate(keys) if key == g]
        s = short.isel(node=cols).sum("node").transpose("month").values
        d = demand.isel(node=cols).sum("node").transpose("month").values
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append(np.where(d > 0, 100.0 * s / np.where(d > 0, d, 1.0), np.nan))
        st = list(dict.fromkeys(str(x) for x in off.state.values[cols]))
        label = f"{g.replace('_', ' ')} ({'/'.join(st)})"
        if by == "province":  # name the canals too: two provinces can share a name (Lebap, Lebap / Mary / Ahal)
            canals = [str(n).replace("_", " ") for n in off.node.values[cols] if str(n).replace("_", " ").lower() != g.lower()]
            label = f"{label}: {', '.join(canals)}" if canals else label
        labels.append(label)
        row_states.append(st[0])
    return np.array(rows), labels, row_states


def shortfall_heatmap(ds: xr.Dataset, ax=None, by: str = "province", title: str | None = None):
    """Shortfall in % of demand by month of the water year (columns Oct..Sep) and province (rows, upstream
    first; ``by="offtake"`` for one row per offtake): shortfall summed over members, years and the province's
    offtakes over its demand summed the same way (the mean over member-years, weighted by demand). Cells show
    the value; blank cells have no shortfall, grey ones no demand. Tick labels take the state's colour."""
    ds = _single_run(ds, "shortfall_heatmap")
    values, labels, row_states = _monthly_shortfall_pct(ds, by)
    ax = _new_axes(ax, (8.3, 0.9 + 0.34 * len(labels) + 1.0))
    cmap = plt.get_cmap("YlOrRd").with_extremes(bad="0.85")
    top = max(float(np.nanmax(values)) if np.isfinite(values).any() else 0.0, 1.0)
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v) and v >= 0.05:
            text = "<1" if v < 0.5 else f"{v:.0f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=8, color="white" if v > 0.6 * top else "black")
    ax.set_xticks(np.arange(12), WATER_YEAR_MONTHS)
    ax.set_yticks(np.arange(len(labels)), [_literal(x) for x in labels], fontsize=8)
    for tick, state in zip(ax.get_yticklabels(), row_states):
        tick.set_color(_colour(state))
    ax.set_xlabel("month (water year Oct-Sep)")
    ax.set_ylabel("province (state), upstream first" if by == "province" else "offtake (state), upstream first")
    ax.tick_params(length=0)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("shortfall (% of demand)")
    _set_title(ax, "Shortfall by month and " + ("province" if by == "province" else "offtake") +
               ", % of demand (all members and years)", ds, title)
    return ax


def _exceedance(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values sorted from largest to smallest and their exceedance probability in % (Weibull: rank / (n + 1))."""
    v = np.sort(np.asarray(values, dtype=float).ravel())[::-1]
    return 100.0 * np.arange(1, v.size + 1) / (v.size + 1), v


def _annual_state_shortfall(ds: xr.Dataset, state: str) -> xr.DataArray:
    """Shortfall of `state` per member and complete water year, km3 (dims member, water_year)."""
    ds = _single_run(ds, "shortfall_exceedance")
    return _water_year_totals(_state_sum(ds, "shortfall", state)) / 1000.0


def _qt_label(ds: xr.Dataset) -> str:
    level = ds.attrs.get("qosh_tepa_withdrawal_km3")
    if QT_KEY in ds.coords and ds[QT_KEY].ndim == 0:
        level = ds[QT_KEY].values
    if level is None:
        return str(ds.attrs.get("title", "run"))
    return "without Qosh Tepa" if float(level) == 0 else f"Qosh Tepa {_fmt(level)} km³/yr"


def shortfall_exceedance(ds_with: xr.Dataset, ds_without: xr.Dataset | None = None, ax=None, states=("UZB", "TKM"),
                         title: str | None = None):
    """Exceedance curves of each state's annual shortfall (km3 per water year, complete water years only), one
    point per member-year: x is the share of member-years (%) whose shortfall is at least y (Weibull plotting
    position rank / (n + 1)). Solid: `ds_with` (with Qosh Tepa); dashed: `ds_without` when given."""
    runs = [(_single_run(ds_with, "shortfall_exceedance"), "-")]
    if ds_without is not None:
        runs.append((_single_run(ds_without, "shortfall_exceedance"), "--"))
    ax = _new_axes(ax, (8.3, 5))
    drawn = _states(runs[0][0], states)
    if not drawn:
        raise ValueError(f"the run has no offtakes of {', '.join(states)}")
    curves = [(k, state, ds, style, _exceedance(_annual_state_shortfall(ds, state).values))
              for k, state in enumerate(drawn) for ds, style in runs]
    sizes = {v.size for *_, (_, v) in curves}
    for k, state, ds, style, (p, v) in curves:
        label = f"{state}, {_qt_label(ds)}" + (f" ({v.size} member-years)" if len(sizes) > 1 else "")
        ax.plot(p, v, style, color=_colour(state, k), lw=1.8, label=_literal(label))
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("exceedance probability (% of member-years)")
    ax.set_ylabel("annual shortfall (km³/yr)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title=f"{sizes.pop()} member-years per curve" if len(sizes) == 1 else None, title_fontsize=8, handlelength=3)
    subject = "Annual shortfall exceeded in a given share of years"
    if title is None and ds_without is not None:
        title = f"{subject}\n{_scenario_line(runs[0][0])}; dashed: {_qt_label(runs[1][0])}"
    _set_title(ax, subject, runs[0][0], title)
    return ax


# --- the network -------------------------------------------------------------------------------------------------

def network_edges(network) -> dict[str, str]:
    """The reaches of a :class:`hydro.network.Network` as {node: the node downstream of it} (terminals left out)."""
    return {network.names[i]: network.names[int(j)] for i, j in enumerate(network.downstream) if j >= 0}


def return_edges(network) -> dict[str, str]:
    """{offtake: node its return flow reaches} for return flows that do not go to the offtake's own downstream
    node (those follow the reach already drawn)."""
    out = {}
    for k, i in enumerate(network.offtake_idx):
        j = int(network.offtake_return_to[k])
        if j >= 0 and j != int(network.downstream[i]):
            out[network.names[i]] = network.names[j]
    return out


def reservoir_bounds(network) -> dict[str, tuple[float, float]]:
    """{reservoir: (dead storage, capacity)} in km3 for every reservoir of the basin, switched off ones too, from
    a results file's saved network (:func:`hydro.results.saved_network`)."""
    return {name: (dead / 1000.0, capacity / 1000.0) for name, (dead, capacity) in network.storage_bounds().items()}


def _network_from_attrs(ds: xr.Dataset):
    """The run's network as its results carry it (``network_json``), or None for data without one."""
    from hydro.results import saved_network

    if "network_json" not in ds.attrs:
        return None
    return saved_network(ds)


def schematic_layout(downstream: dict[str, str], returns: dict[str, str] | None = None, nodes=()) -> dict[str, tuple[int, int]]:
    """A schematic (not geographic) layout of a river tree: {node: (along, across)} in grid steps.

    The main stem is the longest chain of reaches into a terminal (ties: the first node given); its nodes get
    ``along`` = 0, 1, 2 ... downstream and ``across`` = 0. Every tributary is a chain placed on one side, its
    node joining the stem one step above the junction, at the first free offset +1, -1, +2, -2 ... (bigger
    branches first); its own tributaries go further out the same way. Nodes reached only by return flows (a
    depression) sit one step below the lowest node sending them water, at the first free offset; `nodes` not
    joined to anything go below the rest.
    """
    returns = dict(returns or {})
    nodes = list(dict.fromkeys([*downstream, *downstream.values(), *returns, *returns.values(), *nodes]))
    upstream: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in downstream.items():
        upstream[b].append(a)
    length: dict[str, int] = {}

    def chain(n):  # nodes in the longest chain ending at n
        if n not in length:
            length[n] = 1 + max((chain(u) for u in upstream[n]), default=0)
        return length[n]

    def subtree(n):
        return 1 + sum(subtree(u) for u in upstream[n])

    pos: dict[str, tuple[int, int]] = {}
    taken: set[tuple[int, int]] = set()

    def stem_of(bottom):
        stem = [bottom]
        while upstream[stem[-1]]:
            best = max(upstream[stem[-1]], key=lambda u: (chain(u), -nodes.index(u)))
            stem.append(best)
        return stem[::-1]  # top first

    def place(stem, along0, across, side):
        # stem[-1] is placed at along0, the others above it
        for k, n in enumerate(stem):
            pos[n] = (along0 - (len(stem) - 1 - k), across)
            taken.add(pos[n])
        branches = [(u, n) for n in stem for u in upstream[n] if u not in stem]
        branches.sort(key=lambda b: (-subtree(b[0]), pos[b[1]][0]))
        for top, join in branches:
            sub = stem_of(top)
            a0 = pos[join][0] - 1
            cells = lambda off: {(a0 - (len(sub) - 1 - i), off) for i in range(len(sub))}  # noqa: E731
            if side == 0:
                offsets = [s * d for d in range(1, 50) for s in (1, -1)]
            else:
                offsets = [across + side * d for d in range(1, 50)] + [across - side * d for d in range(1, 50)]
            off = next((o for o in offsets if not (cells(o) & taken) and o != 0), offsets[-1])
            place(sub, a0, off, side if side else (1 if off > 0 else -1))

    terminals = [n for n in nodes if n not in downstream and upstream[n]]
    if terminals:
        main = max(terminals, key=lambda t: (chain(t), -nodes.index(t)))
        place(stem_of(main), chain(main) - 1, 0, 0)
    # other trees (a second outlet) and nodes reached only by return flows
    for n in nodes:
        if n in pos or n in downstream:
            continue
        sources = [s for s, t in returns.items() if t == n and s in pos]
        a0 = max((pos[s][0] for s in sources), default=max((p[0] for p in pos.values()), default=-1)) + 1
        stem = stem_of(n)
        for off in [s * d for d in range(1, 50) for s in (-1, 1)]:
            if not any((a0 - (len(stem) - 1 - i), off) in taken for i in range(len(stem))):
                place(stem, a0, off, -1 if off < 0 else 1)
                break
    return pos


def _offtake_shortfall_pct(ds: xr.Dataset) -> dict[str, float]:
    """Each offtake's shortfall in % of its demand, summed over members and months."""
    off = ds.isel(node=_offtakes_of(ds))
    s_total, d_total = off.shortfall.sum(("member", "time")).values, off.demand.sum(("member", "time")).values
    with np.errstate(invalid="ignore", divide="ignore"):
        return dict(zip((str(n) for n in off.node.values), np.where(d_total > 0, 100.0 * s_total / np.where(d_total > 0, d_total, 1), 0.0)))


def _node_marker(ax, n: str, x: float, y: float, kind: str, fill, on: bool = True, size: float = 1.0, zorder: int = 3) -> None:
    """One node's marker, the same in every map: offtakes circles filled by `fill` (their shortfall colour),
    reservoirs squares (hollow when switched off), terminals triangles, inflows small blue circles, junctions dots."""
    if kind == "offtake":
        ax.scatter([x], [y], s=110 * size, c=[fill], edgecolors="black", linewidths=0.8, zorder=zorder)
    elif kind == "reservoir":
        colour = RESERVOIR_COLOURS.get(n, "#984ea3")
        ax.scatter([x], [y], s=120 * size, marker="s", c=[colour] if on else ["white"], edgecolors=colour, linewidths=1.5, zorder=zorder)
    elif kind == "terminal":
        ax.scatter([x], [y], s=130 * size, marker="v", c=["#08519c"], edgecolors="black", linewidths=0.6, zorder=zorder)
    elif kind == "inflow":
        ax.scatter([x], [y], s=35 * size, c=["#3182bd"], edgecolors="white", linewidths=0.5, zorder=zorder)
    else:
        ax.scatter([x], [y], s=14 * size, c=["0.45"], zorder=zorder)


def basin_map(ds: xr.Dataset, ax=None, positions: dict[str, tuple[float, float]] | None = None,
              downstream: dict[str, str] | None = None, returns: dict[str, str] | None = None, title: str | None = None):
    """A schematic map of the network (not geographic: the basin file has no coordinates).

    The layout comes from the tree itself (:func:`schematic_layout`): the main stem runs down the page (distance
    downstream in node order), tributaries and depressions sit to the sides; ``positions={node: (x, y)}``
    overrides any node's place (x across, y up; the stem is at x = 0, tributaries at x = +-1.25, +-2.5 ..., one
    node per unit of y). Reaches are solid lines
    (``downstream={node: next node}``, see :func:`network_edges`); return flows that leave the river are dotted
    (``returns``, see :func:`return_edges`). Without `downstream`, the basin folder named in the run's attributes
    is read if it is still there unchanged. Offtakes are circles coloured by shortfall in % of demand (summed over
    members and years; colour bar), reservoirs squares (hollow when switched off in this run), terminals
    triangles, inflows small blue circles, junctions small grey dots; labels take the state's colour.
    """
    ds = _single_run(ds, "basin_map")
    network = _network_from_attrs(ds) if downstream is None or returns is None else None
    if downstream is None:
        if network is None:
            raise ValueError("the results carry no reach list: pass downstream=network_edges(network) "
                             "(network = hydro.results.saved_network(results))")
        downstream = network_edges(network)
    if returns is None and network is not None and set(network.names) >= set(downstream):
        returns = return_edges(network)
    returns = dict(returns or {})
    grid = schematic_layout(downstream, returns, [str(n) for n in ds.node.values])
    xy = {n: (1.25 * across, -float(along)) for n, (along, across) in grid.items()}
    xy.update({n: (float(x), float(y)) for n, (x, y) in (positions or {}).items()})
    rows = max(1, len({y for _, y in xy.values()}))
    ax = _new_axes(ax, (8.3, min(11.0, 1.6 + 0.36 * rows)))
    names = [str(n) for n in ds.node.values]
    kind = dict(zip(names, (str(k) for k in ds.kind.values)))
    state = dict(zip(names, (str(s) for s in ds.state.values)))
    active = dict(zip(names, (int(a) for a in ds.active.values))) if "active" in ds.coords else {}
    pct = _offtake_shortfall_pct(ds)
    for a, b in downstream.items():
        if a in xy and b in xy:
            ax.plot(*zip(xy[a], xy[b]), color="#6baed6", lw=2.2, zorder=1, solid_capstyle="round")
    for a, b in returns.items():
        if a in xy and b in xy:
            ax.plot(*zip(xy[a], xy[b]), ":", color="#6baed6", lw=1.4, zorder=1)
    cmap = plt.get_cmap("YlOrRd")
    top = max(max(pct.values(), default=0.0), 1.0)
    norm = matplotlib.colors.Normalize(0.0, top)
    has_upstream = set(downstream.values())
    for n in xy:  # a sweep keeps only some nodes: a node it lacks is an inflow when nothing flows into it
        kind.setdefault(n, "junction" if n in has_upstream or n in returns.values() else "inflow")
    for n, (x, y) in xy.items():
        _node_marker(ax, n, x, y, kind[n], cmap(norm(pct.get(n, 0.0))), active.get(n, 1) == 1)
    # labels: away from the river; beside a node of the stem, on the side no tributary or return flow comes in
    lines_at: dict[str, set[float]] = {n: set() for n in xy}
    for a, b in [*downstream.items(), *returns.items()]:
        if a in xy and b in xy:
            lines_at[a].add(np.sign(xy[b][0] - xy[a][0]))
            lines_at[b].add(np.sign(xy[a][0] - xy[b][0]))
    for n, (x, y) in xy.items():
        sides = lines_at[n] - {0.0}
        if sides == {1.0}:
            right, dy = False, 0
        elif sides == {-1.0}:
            right, dy = True, 0
        elif sides:
            right, dy = True, -7  # lines come in from both sides: below the one on the right
        else:
            right, dy = x >= 0, 0
        text = n.replace("_", " ")
        k = kind[n]
        if k == "offtake":
            text += f"  {pct.get(n, 0.0):.0f} %"
        elif k == "reservoir" and active.get(n, 1) == 0:
            text += " (off)"
        ax.annotate(text, (x, y), xytext=(8 if right else -8, dy), textcoords="offset points", ha="left" if right else "right",
                    va="center", fontsize=8, color=_colour(state[n]) if state.get(n) in STATE_COLOURS else "black",
                    fontweight="bold" if k in ("offtake", "terminal", "reservoir") else "normal", zorder=4)
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()]
    ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    bar = ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.035, pad=0.01, shrink=0.6)
    bar.set_label("offtake shortfall (% of demand)")
    present_states = [s for s in STATE_ORDER if s in set(state.get(n) for n in xy)]
    handles = [
        Line2D([], [], marker="o", ls="", ms=9, mfc=cmap(0.5), mec="black", label="offtake (fill: shortfall %)"),
        Line2D([], [], marker="s", ls="", ms=9, mfc="0.55", mec="0.55", label="reservoir (hollow: off)"),
        Line2D([], [], marker="v", ls="", ms=9, mfc="#08519c", mec="black", label="terminal"),
        Line2D([], [], marker="o", ls="", ms=5, mfc="#3182bd", mec="white", label="inflow"),
        Line2D([], [], marker="o", ls="", ms=3.5, mfc="0.45", mec="0.45", label="junction"),
        Line2D([], [], color="#6baed6", lw=2.2, label="reach"),
        Line2D([], [], color="#6baed6", lw=1.4, ls=":", label="return flow"),
        *[Line2D([], [], ls="", marker="$A$", ms=7, color=STATE_COLOURS[s], label=f"label: {s}") for s in present_states],
    ]
    ax.legend(handles=handles, fontsize=8, loc="lower left", frameon=False)
    ax.text(1.0, 0.0, "schematic, not to scale or geographic", transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.4")
    _set_title(ax, "The network, offtakes coloured by shortfall", ds, title)
    return ax


def geographic_map(ds: xr.Dataset, ax=None, title: str | None = None):
    """The network on a map (WGS84 lon/lat, equirectangular with the aspect of the basin's mid-latitude): national
    borders, lake shores and rivers as the results carry them (``map_json``: GSHHG/WDBII lines, LGPL-3.0-or-later),
    each reach drawn from node to node with its width and colour by its mean flow (km3/yr), offtakes as circles
    coloured by shortfall in % of demand, reservoirs squares, terminals triangles; Qosh Tepa's head is starred.
    ValueError for results without a map (the basin has no map folder)."""
    from hydro.geography import from_attrs

    ds = _single_run(ds, "geographic_map")
    geo = from_attrs(ds)
    if geo is None or not geo.get("nodes"):
        raise ValueError("these results carry no map (a sweep point keeps none, and a basin without map = \"...\" has none: draw it from a run's results.nc)")
    network = _network_from_attrs(ds)
    if network is None:
        raise ValueError("these results carry no network layout")
    xy = {n: (lon, lat) for n, (lat, lon) in geo["nodes"].items()}
    ax = _new_axes(ax, (9.0, 7.4))
    styles = {"borders": dict(color="0.55", lw=0.8, ls="--"), "coast": dict(color="#6baed6", lw=0.8), "rivers": dict(color="#9ecae1", lw=0.7)}
    for layer, lines in geo.get("layers", {}).items():
        for line in lines:
            arr = np.asarray(line, dtype=float)
            ax.plot(arr[:, 0], arr[:, 1], zorder=1, **styles.get(layer, {}))
    names = [str(n) for n in ds.node.values]
    years = ds.sizes["time"] / 12.0
    flow = ds.flow.mean("member").sum("time") / years / 1000.0 if "flow" in ds else None
    edges = network_edges(network)
    top_flow = float(flow.max()) if flow is not None else 1.0
    fcmap = plt.get_cmap("Blues")
    for a, b in edges.items():
        if a in xy and b in xy:
            q = float(flow.sel(node=a)) if flow is not None and a in names else 0.0
            ax.plot(*zip(xy[a], xy[b]), color=fcmap(0.35 + 0.65 * q / max(top_flow, 1e-9)), lw=1.0 + 5.0 * q / max(top_flow, 1e-9),
                    zorder=2, solid_capstyle="round")
    pct = _offtake_shortfall_pct(ds)
    cmap = plt.get_cmap("YlOrRd")
    norm = matplotlib.colors.Normalize(0.0, max(max(pct.values(), default=0.0), 1.0))
    kind = dict(zip(names, (str(k) for k in ds.kind.values)))
    state = dict(zip(names, (str(s) for s in ds.state.values)))
    active = dict(zip(names, (int(a) for a in ds.active.values))) if "active" in ds.coords else {}
    qt = [n for n in names if n == "qosh_tepa"]
    for n, (x, y) in xy.items():
        k = kind.get(n, "junction")
        if k != "junction":  # junctions are river points on the map: the reaches show them
            _node_marker(ax, n, x, y, k, cmap(norm(pct.get(n, 0.0))), active.get(n, 1) == 1, size=0.8, zorder=4)
        if k in ("offtake", "reservoir", "terminal"):
            label = n.replace("_", " ") + (f" {pct.get(n, 0.0):.0f} %" if k == "offtake" else "")
            ax.annotate(label, (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8, zorder=5,
                        color=_colour(state[n]) if state.get(n) in STATE_COLOURS else "black", fontweight="bold")
    for n in qt:
        ax.scatter([xy[n][0]], [xy[n][1]], s=320, marker="*", facecolors="none", edgecolors="black", linewidths=1.2, zorder=5)
    lons = [p[0] for p in xy.values()]
    lats = [p[1] for p in xy.values()]
    ax.set_xlim(min(lons) - 1.0, max(lons) + 1.0)
    ax.set_ylim(min(lats) - 0.7, max(lats) + 0.7)
    ax.set_aspect(1.0 / np.cos(np.radians(np.mean(lats))))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    bar = ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.035, pad=0.01, shrink=0.6)
    bar.set_label("offtake shortfall (% of demand)")
    handles = [
        Line2D([], [], marker="o", ls="", ms=9, mfc=cmap(0.5), mec="black", label="offtake (fill: shortfall %)"),
        Line2D([], [], marker="*", ls="", ms=13, mfc="none", mec="black", label="Qosh Tepa canal head"),
        Line2D([], [], marker="s", ls="", ms=8, mfc="0.55", mec="0.55", label="reservoir (hollow: off)"),
        Line2D([], [], marker="v", ls="", ms=8, mfc="#08519c", mec="black", label="terminal"),
        Line2D([], [], color=fcmap(0.8), lw=4, label=f"reach, width by mean flow (max {top_flow:.0f} km³/yr)"),
        Line2D([], [], color="#9ecae1", lw=0.8, label="rivers (GSHHG/WDBII)"),
        Line2D([], [], color="0.55", lw=0.8, ls="--", label="national borders (GSHHG/WDBII)"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="lower left", framealpha=0.85)
    ax.text(1.0, -0.08, f"nodes: the basin's map/nodes.csv (sourced, H/M/L); {geo.get('licence', '')}; Aral shore of 1960",
            transform=ax.transAxes, ha="right", va="top", fontsize=8, color="0.4")
    _set_title(ax, "The network on the map, offtakes coloured by shortfall", ds, title)
    return ax


# --- reservoirs and the delta ------------------------------------------------------------------------------------

def _median_envelope(ax, x, data: np.ndarray, colour: str, label: str, low: float = 5, high: float = 95, step: bool = False):
    """Median line and `low`-`high` percentile envelope over axis 0 of `data`."""
    q = np.percentile(data, [low, 50, high], axis=0)
    kwargs = {"step": "mid"} if step else {}
    ax.fill_between(x, q[0], q[2], color=colour, alpha=0.25, lw=0, **kwargs)
    return ax.plot(x, q[1], color=colour, lw=1.6, label=label, drawstyle="steps-mid" if step else "default")[0]


def reservoir_storage(ds: xr.Dataset, ax=None, bounds: dict[str, tuple[float, float]] | None = None,
                      reservoirs=None, title: str | None = None):
    """Month-end storage (km3) of each reservoir active in the run (``active == 1``: Nurek, Rogun when switched on,
    Tuyamuyun): median over members (line) and 5-95 % range over members (band), with capacity (dashed) and dead
    storage (dotted) from ``bounds={node: (dead_km3, capacity_km3)}`` (:func:`reservoir_bounds`; read from the
    basin folder named in the run's attributes when not given and still there unchanged)."""
    ds = _single_run(ds, "reservoir_storage")
    names = [str(n) for n, k, a in zip(ds.node.values, ds.kind.values, ds.active.values if "active" in ds.coords else np.ones(ds.sizes["node"]))
             if k == "reservoir" and int(a) == 1]
    if reservoirs is not None:
        names = [n for n in names if n in reservoirs]
    if not names:
        raise ValueError("the run has no active reservoir")
    if bounds is None:
        network = _network_from_attrs(ds)
        bounds = reservoir_bounds(network) if network is not None else {}
    ax = _new_axes(ax, (8.3, 4.5))
    time = ds.time.values
    for k, n in enumerate(names):
        colour = RESERVOIR_COLOURS.get(n, OTHER_COLOURS[k % len(OTHER_COLOURS)])
        data = ds.storage.sel(node=n).transpose("member", "time").values / 1000.0
        _median_envelope(ax, time, data, colour, n.replace("_", " ").capitalize())
        if n in bounds:
            dead, capacity = bounds[n]
            ax.axhline(capacity, color=colour, ls="--", lw=1.0)
            ax.axhline(dead, color=colour, ls=":", lw=1.2)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(facecolor="0.5", alpha=0.35, lw=0), Line2D([], [], color="0.3", ls="--", lw=1.0), Line2D([], [], color="0.3", ls=":", lw=1.2)]
    labels += ["5-95 % of members", "capacity", "dead storage"]
    ax.legend(handles, labels, fontsize=8, ncols=min(len(labels), 4), title="lines: median over members", title_fontsize=8,
              loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, handlelength=3)
    ax.set_xlim(time[0], time[-1])
    ax.set_ylim(bottom=0)
    ax.set_ylabel("storage at month end (km³)")
    ax.set_xlabel("month")
    ax.grid(alpha=0.3)
    _set_title(ax, "Reservoir storage", ds, title)
    return ax


def delta_inflow(ds: xr.Dataset, ax=None, node: str = "aral_sea", by: str = "time", title: str | None = None):
    """Monthly inflow to the delta (`node`, km3 per month) against its requirement (variable ``requirement``).

    ``by="time"``: month by month over the run, median over members (line) and 5-95 % of members (band);
    ``by="month"``: per month of the water year (Oct-Sep), median and 5-95 % over all member-years. The
    requirement is the black line; the legend gives the share of member-months that meet it."""
    ds = _single_run(ds, "delta_inflow")
    if by not in ("time", "month"):
        raise ValueError(f"by={by!r}: expected 'time' or 'month'")
    inflow = ds.inflow.sel(node=node).transpose("member", "time") / 1000.0
    requirement = ds.requirement.sel(node=node).transpose("member", "time") / 1000.0
    met = float((inflow >= requirement - 1e-9).mean()) * 100.0
    ax = _new_axes(ax, (8.3, 4.5))
    label = f"inflow to {node.replace('_', ' ')}"
    if by == "time":
        x = ds.time.values
        _median_envelope(ax, x, inflow.values, "#2171b5", label)
        ax.plot(x, np.median(requirement.values, axis=0), color="black", lw=1.2, ls="--", label="requirement")
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel("month")
    else:
        month = ds.time.dt.month.values
        x = np.arange(12)
        pooled = [inflow.values[:, month == m].ravel() for m in WATER_YEAR_ORDER]
        req = [np.median(requirement.values[:, month == m]) if (month == m).any() else np.nan for m in WATER_YEAR_ORDER]
        q = np.array([np.percentile(p, [5, 50, 95]) if p.size else [np.nan] * 3 for p in pooled]).T
        edges = np.arange(13) - 0.5
        ax.stairs(q[2], edges, baseline=q[0], fill=True, color="#2171b5", alpha=0.25, lw=0)
        ax.stairs(q[1], edges, baseline=None, color="#2171b5", lw=1.6, label=label)
        ax.stairs(req, edges, baseline=None, color="black", lw=1.2, ls="--", label="requirement")
        ax.set_xticks(x, WATER_YEAR_MONTHS)
        ax.set_xlim(-0.5, 11.5)
        ax.set_xlabel("month (water year Oct-Sep)")
    handles, labels = ax.get_legend_handles_labels()
    handles.insert(1, Patch(facecolor="#2171b5", alpha=0.25, lw=0))
    labels.insert(1, "5-95 % of members" if by == "time" else "5-95 % of member-years")
    heading = f"line: median over {'members' if by == 'time' else 'member-years'}; requirement met in {met:.0f} % of member-months"
    ax.legend(handles, labels, fontsize=8, title=heading, title_fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncols=3, frameon=False, handlelength=3)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("inflow (km³ per month)")
    ax.grid(alpha=0.3)
    _set_title(ax, f"Inflow to the delta ({node.replace('_', ' ')}) against its requirement", ds, title)
    return ax


DIMENSION_COLOURS = {"water": "#2c7fb8", "connectivity": "#fdae61", "security": "#d7191c", "counter": "#1a9641"}


def leverage_breakdown(table, ax=None, title: str | None = None):
    """Stacked bars per state: water, connectivity and security parts up, counter-leverage down; the score as a dot."""
    ax = ax or plt.subplots(figsize=(8.3, 4))[1]
    states = list(table.index)
    x = np.arange(len(states))
    bottom = np.zeros(len(states))
    for d in ("water", "connectivity", "security"):
        vals = table[f"{d}_part"].to_numpy()
        ax.bar(x, vals, 0.6, bottom=bottom, color=DIMENSION_COLOURS[d], label=d)
        bottom += vals
    ax.bar(x, table["counter_part"].to_numpy(), 0.6, color=DIMENSION_COLOURS["counter"], label="counter-leverage")
    ax.plot(x, table["score"], "kD", ms=7, label="score")
    for xi, s in zip(x, table["score"]):
        ax.annotate(f"{s:.2f}", (xi, s), textcoords="offset points", xytext=(8, 4), fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    low, high = float(table["counter_part"].min()), float(max(bottom.max(), table["score"].max()))
    ax.set_ylim(min(low * 1.15, -0.05), high + 0.45 * (high - min(low, 0)))  # room for the legend above the bars
    ax.set_xticks(x, states)
    for tick, s in zip(ax.get_xticklabels(), states):
        tick.set_color(STATE_COLOURS.get(s, "k"))
    ax.set_ylabel("weighted part of the score (0-1 scale)")
    ax.set_title(title or "Afghanistan's leverage by state and dimension", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=3, loc="upper right")
    return ax


def leverage_vs_withdrawal(response, ax=None, states=("UZB", "TKM"), title: str | None = None):
    """Leverage score (solid) and water dimension (dashed) against Qosh Tepa withdrawal, for `states`."""
    ax = ax or plt.subplots(figsize=(8.3, 4))[1]
    key = "qosh_tepa.withdrawal_km3"
    for s in states:
        sel = response[response.state == s].sort_values(key)
        ax.plot(sel[key], sel["score"], "-o", ms=3, color=STATE_COLOURS.get(s), label=f"{s} score")
        ax.plot(sel[key], sel["water"], "--", color=STATE_COLOURS.get(s), label=f"{s} water dimension")
    ax.set_xlabel("Qosh Tepa withdrawal (km³/yr)")
    ax.set_ylabel("score and water dimension (0-1)")
    ax.set_ylim(0, 1)
    ax.set_title(title or "Leverage against Qosh Tepa withdrawal", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    return ax


def leverage_figure(result, title: str):
    """The breakdown and, when a sweep gave one, the response to withdrawal."""
    panels = 2 if result.response is not None else 1
    fig, axes = plt.subplots(panels, 1, figsize=(8.3, 4.0 * panels), constrained_layout=True, squeeze=False)
    leverage_breakdown(result.table, axes[0, 0], f"Leverage by dimension, Qosh Tepa {result.withdrawal_km3:g} km³/yr")
    if result.response is not None:
        leverage_vs_withdrawal(result.response, axes[1, 0])
    fig.suptitle(_literal(title), fontsize=11)
    return fig
