"""Charts of results (matplotlib). Each function takes ``ax=None`` and returns the axes it drew on."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from hydro.metrics import STATE_ORDER, monthly_shortfall_by_state  # noqa: E402

STATE_COLOURS = {"AFG": "#4d4d4d", "TJK": "#1b9e77", "UZB": "#2c7fb8", "TKM": "#d95f02", "KGZ": "#7570b3", "KAZ": "#e7298a"}
WATER_YEAR_MONTHS = ["Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"]


def shortfall_by_month(ds: xr.Dataset, ax=None):
    """Mean shortfall per calendar month (water-year order) and state, km3 per month, as grouped bars."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    monthly = monthly_shortfall_by_state(ds)  # (time, state) hm3
    month = monthly.time.dt.month
    clim = monthly.groupby(month).mean("time") / 1000.0
    order = [10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9]
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
    fig.suptitle(title, fontsize=11)
    return fig


def save(fig, path, fmt: str = "png") -> None:
    """Save and close a figure (format given explicitly: the path may be a temporary name)."""
    fig.savefig(path, format=fmt, dpi=150)
    plt.close(fig)


def rule_comparison(table, qosh_tepa_km3: float, period: str = "all", ax=None, legend: bool = True):
    """Shortfall in % of demand by state (groups) and rule (bars), for one Qosh Tepa level and period."""
    ax = ax or plt.subplots(figsize=(8.3, 4))[1]
    sel = table[(table.qosh_tepa_km3 == qosh_tepa_km3) & (table.period == period)]
    rules = list(dict.fromkeys(sel.rule))
    states = [s for s in STATE_ORDER if s in set(sel.state)]
    width = 0.8 / max(len(rules), 1)
    x = np.arange(len(states))
    colours = plt.get_cmap("tab10")
    for j, rule in enumerate(rules):
        vals = [float(sel[(sel.rule == rule) & (sel.state == s)].shortfall_pct.iloc[0]) for s in states]
        bars = ax.bar(x + (j - (len(rules) - 1) / 2) * width, vals, width, label=rule, color=colours(j))
        ax.bar_label(bars, labels=[f"{v:.0f}" if v >= 0.5 else "" for v in vals], fontsize=7, padding=1)
    ax.set_xticks(x, states)
    ax.set_ylabel("shortfall (% of demand)")
    ax.set_title(f"Qosh Tepa {qosh_tepa_km3:g} km³/yr, {period}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if legend:
        ax.legend(title="rule", fontsize=8, ncols=min(len(rules), 3))
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
            rule_comparison(table, level, period, axes[r, c], legend=False)
            axes[r, c].set_ylim(0, top)
            if c:
                axes[r, c].set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, title="rule", loc="outside lower center", ncols=len(labels), fontsize=9)
    fig.suptitle(title, fontsize=12)
    return fig
