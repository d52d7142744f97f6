"""A self-contained HTML report of a results folder, for readers who will not open netCDF files.

``hydro report DIR`` reads what DIR holds: ``results.nc`` (a run), ``compare.csv``/``compare.png`` (a rule
comparison), ``sweep.json`` (a sweep). The key numbers come first (UZB and TKM shortfall with and without Qosh
Tepa, in the mean year and in a dry year), then the charts, the tables, the assumptions with their sources and the
run's provenance. Charts are embedded as PNG data; nothing is fetched from a network. With a sweep, a slider over
the Qosh Tepa level switches the key numbers and a chart between pre-rendered versions.
"""

from __future__ import annotations

import base64
import calendar
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydro import analysis, charts, energy, metrics
from hydro.results import atomic_file

STATES = ("UZB", "TKM")


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    charts.plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _ax_png(draw, *args, figsize=(8.3, 4.2), **kwargs) -> str:
    fig, ax = charts.plt.subplots(figsize=figsize, constrained_layout=True)
    draw(*args, ax=ax, **kwargs)
    return _png(fig)


def _table(df: pd.DataFrame, digits: int = 2, index: bool = True) -> str:
    return df.round(digits).to_html(index=index, border=0, classes="t", na_rep="-", escape=True)


def key_numbers(ds: xr.Dataset, others: dict[str, xr.Dataset]) -> pd.DataFrame:
    """UZB and TKM shortfall (km3/yr and % of demand) with and without Qosh Tepa, mean and dry years, and Qosh Tepa's
    cost to them (with less without, member by member); "[a-b]" after a figure is its 5-95 % band over the members."""
    def pick(d, period):
        t = metrics.state_summary(d, period)
        return t.reindex(list(STATES))

    with_mean, without_mean = pick(ds, "all"), pick(others["without"], "all")
    if "dry" in others:
        dry_pair, dry_period = (others["dry"], others["dry_without"]), "all"
    else:
        dry_pair, dry_period = (ds, others["without"]), "dry years"
    with_dry, without_dry = pick(dry_pair[0], dry_period), pick(dry_pair[1], dry_period)

    def fig(table, state, column, digits=2):
        v = table.loc[state, column]
        lo, hi = table.loc[state, f"{column}_p05"] if f"{column}_p05" in table else v, table.loc[state, f"{column}_p95"] if f"{column}_p95" in table else v
        if not np.isfinite(v):
            return "-"
        return f"{v:.{digits}f}" + (f" [{lo:.{digits}f}-{hi:.{digits}f}]" if np.isfinite(lo) and hi - lo >= 0.5 * 10 ** -digits else "")

    rows = {}
    for state in STATES:
        rows[state] = {
            "all years, with Qosh Tepa (km3/yr)": fig(with_mean, state, "shortfall_km3"),
            "all years, without (km3/yr)": fig(without_mean, state, "shortfall_km3"),
            "all years, with (% of demand)": fig(with_mean, state, "shortfall_pct", 1),
            "dry years, with Qosh Tepa (km3/yr)": fig(with_dry, state, "shortfall_km3"),
            "dry years, without (km3/yr)": fig(without_dry, state, "shortfall_km3"),
            "dry years, with (% of demand)": fig(with_dry, state, "shortfall_pct", 1),
        }
    cost, shares = {}, {}
    for label, (w, wo), period in (("all years", (ds, others["without"]), "all"), ("dry years", dry_pair, dry_period)):
        b = metrics.band(metrics.member_shortfall(w, STATES, period) - metrics.member_shortfall(wo, STATES, period), metrics.member_groups(w))
        cost[f"{label}, with Qosh Tepa (km3/yr)"] = (f"{b['mean']:.2f}" + (f" [{b['p05']:.2f}-{b['p95']:.2f}]" if b["p95"] - b["p05"] >= 0.005 else "")
                                                   if np.isfinite(b["mean"]) else "-")
        shares[label] = b
    rows[" + ".join(STATES) + ": Qosh Tepa's cost"] = cost
    table = pd.DataFrame(rows).T.fillna("")
    table.attrs["years"] = (f"All years: {analysis.years_label(ds)}, after the warm-up; {analysis.dry_basis(ds, others)}."
                            if "warmup" in ds.attrs else f"All years: {analysis.years_label(ds)}; {analysis.dry_basis(ds, others)}.")
    parts = [f"{label}: {b['from_parameters_pct']:.0f} % from the parameter sets, {b['from_hydrology_pct']:.0f} % from the hydrological members"
             for label, b in shares.items() if np.isfinite(b["from_parameters_pct"])]
    table.attrs["cost_shares"] = ("Where the spread of Qosh Tepa's cost comes from (shares of its variance across simulations): "
                                  + "; ".join(parts) + ".") if parts else ""
    return table


def plain_summary(ds: xr.Dataset, others: dict[str, xr.Dataset]) -> str:
    """Two or three sentences a minister reads first, written from the run's own numbers: Qosh Tepa's cost to
    Uzbekistan and Turkmenistan (with its band), in dry years, as a share of their demand; when and where it falls;
    how much of the river at its head the canal takes."""
    level = float(ds.attrs.get("qosh_tepa_withdrawal_km3", 0.0))
    rule = ds.attrs.get("rule", "?")
    if level <= 0 or "without" not in others or others["without"] is ds:
        s = metrics.state_summary(ds).reindex(list(STATES))
        return (f"Without Qosh Tepa, under the rule {rule}, Uzbekistan and Turkmenistan go short of "
                f"{s.shortfall_km3.sum():.1f} km³ a year together ({100 * s.shortfall_km3.sum() / s.demand_km3.sum():.0f} % of "
                f"their irrigation demand) in {analysis.years_label(ds)}.")
    without = others["without"]
    dry_pair, dry_period = ((others["dry"], others["dry_without"]), "all") if "dry" in others else ((ds, without), "dry years")
    groups = metrics.member_groups(ds)
    cost = metrics.band(metrics.member_shortfall(ds, STATES) - metrics.member_shortfall(without, STATES), groups)
    dry = metrics.band(metrics.member_shortfall(dry_pair[0], STATES, dry_period) - metrics.member_shortfall(dry_pair[1], STATES, dry_period),
                       metrics.member_groups(dry_pair[0]))
    demand = float(metrics.state_summary(ds).reindex(list(STATES)).demand_km3.sum())
    band = f" (5-95 %: {cost['p05']:.1f}-{cost['p95']:.1f})" if cost["p95"] - cost["p05"] >= 0.05 else ""
    first = (f"With Qosh Tepa taking {level:g} km³ a year under the rule {rule}, Uzbekistan and Turkmenistan together get "
             f"{cost['mean']:.1f} km³ a year less water than without it{band}, {100 * cost['mean'] / demand:.0f} % of their "
             f"irrigation demand; in dry years {dry['mean']:.1f} km³.")
    off = metrics.of_kind(ds, "offtake")
    mine = np.isin(off.state.values, list(STATES))
    extra = (off.shortfall.isel(node=np.flatnonzero(mine)).mean("member") - metrics.of_kind(without, "offtake").shortfall.isel(node=np.flatnonzero(mine)).mean("member"))
    by_month = extra.sum("node").groupby(ds.time.dt.month).sum().to_series()
    months = [calendar.month_name[int(m)] for m in by_month.sort_values(ascending=False).index[:2] if by_month[m] > 0]
    by_place = extra.sum("time").to_series().sort_values(ascending=False)
    places = [f"{n.replace('_', ' ').title()} ({off.state.sel(node=n).item()})" for n in by_place.index[:2] if by_place[n] > 0]
    second = ""
    if months and by_month.sum() > 0:
        share = 100 * by_month.loc[by_month.sort_values(ascending=False).index[:len(months)]].sum() / by_month[by_month > 0].sum()
        second = f"{share:.0f} % of the loss falls in {' and '.join(months)}" + (f", most of it at {' and '.join(places)}." if places else ".")
    head = ""
    node = "qosh_tepa"
    if node in ds.node.values and "inflow" in ds:
        table = metrics.head_share(ds, node)
        head = (f"The canal takes {100 * table.withdrawal_km3.sum() / table.river_at_head_km3.sum():.0f} % of the river at its head "
                f"over the year, {table.share_pct.max():.0f} % in {calendar.month_name[int(table.share_pct.idxmax())]}.")
    return " ".join(x for x in (first, second, head) if x)


def compare_summary(table: pd.DataFrame) -> str:
    """One or two sentences from compare.csv: Qosh Tepa's cost to Uzbekistan and Turkmenistan under each rule (the
    shortfall at each level less at the lowest, all years and, where the run has them, dry years)."""
    mine = table[table.state.isin(STATES)]
    levels = sorted(set(mine.qosh_tepa_km3))
    if len(levels) < 2:
        total = mine[mine.period == "all"].groupby("rule", sort=False).shortfall_km3.sum()
        return ("Uzbekistan and Turkmenistan together go short of " + ", ".join(f"{v:.1f} km³ a year under {r}" for r, v in total.items())
                + f" (Qosh Tepa at {levels[0]:g} km³/yr).")
    low, high = levels[0], levels[-1]
    parts = []
    for period, words in (("all", "all years"), ("dry years", "dry years")):
        sel = mine[mine.period == period]
        if sel.empty:
            continue
        by = sel.groupby(["rule", "qosh_tepa_km3"], sort=False).shortfall_km3.sum()
        costs = {r: by[(r, high)] - by[(r, low)] for r in dict.fromkeys(sel.rule)}
        best, worst = min(costs, key=costs.get), max(costs, key=costs.get)
        parts.append(f"In {words}, Qosh Tepa at {high:g} instead of {low:g} km³/yr costs Uzbekistan and Turkmenistan together "
                     + ", ".join(f"{v:.1f} km³ a year under {r}" for r, v in costs.items())
                     + (f": least under {best}, most under {worst}." if best != worst else "."))
    return " ".join(parts)


def band_note(ds: xr.Dataset) -> str:
    """What the bands in a run's figures are taken over (one sentence)."""
    n = ds.sizes["member"]
    if "parameter_set" in ds.coords:
        sets = len(set(ds.parameter_set.values.tolist()))
        return (f"Bands [a-b] are the 5-95 % range over {n} simulations: {sets} behavioural parameter sets of the basin "
                f"(fitted to the recorded years by hydro calibrate) x {n // sets} hydrological member{'s' if n // sets > 1 else ''}, of each simulation's mean.")
    if n > 1:
        return f"Bands [a-b] are the 5-95 % range over the {n} hydrological members of each member's mean; the basin's figures are as written (no parameter sets)."
    return "One member with the basin's figures as written: no band (set uncertainty.parameter_sets in the run file for one)."


def _figure(title: str, draw) -> str:
    """A figure of the report, or a line saying why the chart cannot be drawn for these results (charts raise
    ValueError for data they cannot show, e.g. a run without a complete water year)."""
    try:
        src = draw()
    except ValueError as err:
        charts.plt.close("all")
        return f'<p class="note"><b>{html.escape(title)}</b>: not drawn: {html.escape(str(err))}.</p>'
    return f'<figure><img alt="{html.escape(title)}" src="{src}"><figcaption>{html.escape(title)}</figcaption></figure>'


def _run_section(ds: xr.Dataset, others: dict[str, xr.Dataset]) -> tuple[str, str]:
    """(key numbers HTML, body HTML) for a run's results and its counterpart runs."""
    from hydro.results import saved_network

    numbers = key_numbers(ds, others)
    network = saved_network(ds)
    images = [
        ("Shortfall by month and by year", lambda: _png(charts.shortfall_figure(ds, ds.attrs.get("title", "")))),
        ("Where: shortfall by province and month", lambda: _ax_png(charts.shortfall_heatmap, ds)),
        ("How often: annual shortfall exceedance, with and without Qosh Tepa",
         lambda: _ax_png(charts.shortfall_exceedance, ds, others["without"])),
        ("The network on the map, offtakes coloured by shortfall", lambda: _ax_png(charts.geographic_map, ds, figsize=(9.0, 7.4))),
        ("The network as a schematic", lambda: _ax_png(charts.basin_map, ds, downstream=charts.network_edges(network), figsize=(8.3, 6.0))),
        ("Reservoir storage", lambda: _ax_png(charts.reservoir_storage, ds, bounds=charts.reservoir_bounds(network))),
        ("Aral Sea delta inflow against its requirement", lambda: _ax_png(charts.delta_inflow, ds)),
    ]
    periods = {p: metrics.state_summary(ds, p) for p in metrics.PERIODS}
    period_table = pd.concat({p: t for p, t in periods.items() if len(t)}, names=["period", "state"])
    body = "".join(_figure(title, draw) for title, draw in images)
    body += "<h2>Tables</h2><h3>Demand, withdrawal and shortfall per state (km3 per year)</h3>" + _table(period_table)
    body += ("<h3>Performance of supply (Hashimoto, Stedinger and Loucks 1982)</h3><p>Reliability: share of months "
             "without shortfall; resilience: share of failed months followed by a month without; vulnerability: mean "
             "worst monthly shortfall per failure event, as a share of demand.</p>" + _table(metrics.state_performance(ds), 3))
    body += "<h3>Per offtake (km3 per year)</h3>" + _table(metrics.offtake_summary(ds))
    body += "<h3>Terminals (km3 per year)</h3>" + _table(metrics.terminal_summary(ds))
    power = energy.summary(ds)
    if len(power):
        body += ("<h3>Hydropower (TWh per year)</h3><p>Energy from each plant's turbined release and head (hydro.energy): "
                 "winter is October-March; the band is over the members; the bypass passes the turbines and produces nothing.</p>"
                 + _table(power, 3))
    note = " ".join(x for x in (numbers.attrs.get("years", ""), band_note(ds), numbers.attrs.get("cost_shares", "")) if x)
    return _table(numbers) + f'<p class="note">{html.escape(note)}</p>', body


QT_KEY = "qosh_tepa.withdrawal_km3"


def _sweep_section(folder: Path, sel: dict | None = None) -> str:
    """Controls over the Qosh Tepa level and the rule, driven by the numbers embedded as JSON: the key numbers
    (shortfall, its band, dry years) and a monthly chart drawn in the page on fixed axes (the largest month of any
    level and rule), so that 0 and 12 km3/yr never look alike; and the overview chart of shortfall against
    withdrawal, one line per rule, all years and dry years together. `sel` fixes the sweep's other keys
    (``--sel KEY=VALUE``); a key it does not fix is taken at its first value, and the page says so."""
    from hydro.api import by_state
    from hydro.sweeps import open_sweep

    table = pd.read_csv(folder / "sweep.csv")
    if QT_KEY not in table.columns:
        return "<p>This sweep does not vary the Qosh Tepa withdrawal: no slider.</p>"
    ds = open_sweep(folder)
    fixed, notes = _fix_other_keys(ds, sel or {}, str(folder))
    for key, value in fixed.items():
        ds = ds.sel({key: value})
        table = table[table[key] == value]
    rules = [str(r) for r in ds.rule.values] if "rule" in ds.dims else [str(ds.attrs.get("rule", table.rule.iloc[0] if "rule" in table else "?"))]
    levels = sorted(float(x) for x in set(table[QT_KEY]))
    numbers, monthly = {}, {}
    for rule in rules:
        numbers[rule], monthly[rule] = [], []
        for level in levels:
            rows = table[(table[QT_KEY] == level) & ((table.rule == rule) if "rule" in table else True) & table.state.isin(STATES)].set_index("state")

            def r(x, d=2):
                return None if x is None or not np.isfinite(x) else round(float(x), d)

            numbers[rule].append({st: [r(rows.loc[st, "shortfall_km3"]), r(rows.loc[st, "shortfall_pct"], 1), r(rows.loc[st, "dry_shortfall_km3"]),
                                       r(rows.loc[st].get("shortfall_km3_p05")), r(rows.loc[st].get("shortfall_km3_p95"))] for st in STATES if st in rows.index})
            point = ds.sel({QT_KEY: level, **({"rule": rule} if "rule" in ds.dims else {})})
            per_state = by_state(point.shortfall).sel(state=[st for st in STATES if st in set(point.state.values)])
            month = per_state.mean("member").groupby(point.time.dt.month).mean("time").load() / 1000.0  # km3 in that month
            order = [10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9]
            monthly[rule].append({str(st): [round(float(month.sel(state=st, month=m)), 4) for m in order] for st in per_state.state.values})
    top = max((max(v) for rule in monthly.values() for lv in rule for v in lv.values()), default=1.0) or 1.0
    overview = _png(charts.sweep_overview(table, [s for s in STATES], rules))
    cells = "".join(f"<tr><th>{s}</th><td id='sw-{s}-km3'></td><td id='sw-{s}-band'></td><td id='sw-{s}-pct'></td><td id='sw-{s}-dry'></td></tr>" for s in STATES)
    options = "".join(f"<option value='{k}'>{html.escape(rule)}</option>" for k, rule in enumerate(rules))
    data = {"levels": levels, "rules": rules, "numbers": numbers, "monthly": monthly, "top": top,
            "months": ["Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"],
            "colours": {s: charts.STATE_COLOURS.get(s, "#555") for s in STATES}}
    note = (" " + " ".join(notes)) if notes else ""
    return f"""
<h2>Qosh Tepa withdrawal and rule: move the slider</h2>
<p>{len(levels)} levels x {len(rules)} rule(s) from the sweep in <code>{html.escape(str(folder))}</code>.{html.escape(note)}</p>
<label for="qt-rule">Rule: </label><select id="qt-rule">{options}</select>
<label for="qt-slider"> Qosh Tepa withdrawal: <b id="qt-value"></b> km³/yr</label>
<input type="range" id="qt-slider" min="0" max="{len(levels) - 1}" step="1" value="0">
<table class="t" id="qt-numbers"><tr><th>state</th><th>shortfall (km³/yr)</th><th>5-95 % band</th><th>shortfall (% of demand)</th><th>dry years (km³/yr)</th></tr>{cells}</table>
<figure><svg id="qt-chart" width="760" height="300" role="img" aria-label="mean monthly shortfall at the chosen level and rule"></svg>
<figcaption>Mean monthly shortfall (km³ in the month) at the chosen level and rule; the axis is fixed at the largest month of any level and rule</figcaption></figure>
<figure><img alt="shortfall against withdrawal" src="{overview}"><figcaption>Shortfall against Qosh Tepa withdrawal: one line per rule, all years solid, dry years dashed, 5-95 % band shaded</figcaption></figure>
<script id="sweep-data" type="application/json">{json.dumps(data)}</script>
"""


def _fix_other_keys(ds: xr.Dataset, sel: dict, where: str) -> tuple[dict, list[str]]:
    """The value of every sweep key other than the Qosh Tepa level and the rule: from `sel`
    (:func:`hydro.results.selection`), else the first value; and a note for each key taken at its first value."""
    from hydro.results import selection

    fixed, notes = selection(ds, sel, where), []
    for key in [d for d in ds.dims if d not in ("member", "time", "node", QT_KEY, "rule")]:
        if key not in fixed and ds.sizes[key] > 1:
            fixed[key] = ds[key].values[0].item()
            notes.append(f"{key} = {fixed[key]} (its first value; choose another with --sel {key}=VALUE).")
    return fixed, notes


SCRIPT = """
<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  var node = document.getElementById('sweep-data');
  var sweep = node ? JSON.parse(node.textContent) : null;
  var slider = document.getElementById('qt-slider');
  var choice = document.getElementById('qt-rule');
  function text(v, d) { return v === null || v === undefined ? '-' : v.toFixed(d); }
  function chart(rows) {
    var svg = document.getElementById('qt-chart'), ns = 'http://www.w3.org/2000/svg';
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var W = 760, H = 300, left = 56, bottom = 40, top = 14, states = Object.keys(rows);
    var plotW = W - left - 10, plotH = H - bottom - top, step = plotW / 12, bar = step * 0.8 / Math.max(states.length, 1);
    function el(name, attrs, content) {
      var e = document.createElementNS(ns, name);
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
      if (content !== undefined) { e.textContent = content; }
      svg.appendChild(e); return e;
    }
    for (var t = 0; t <= 4; t++) {
      var v = sweep.top * t / 4, y = top + plotH - plotH * t / 4;
      el('line', {x1: left, x2: W - 10, y1: y, y2: y, stroke: '#ddd'});
      el('text', {x: left - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11}, v.toFixed(2));
    }
    el('text', {x: 14, y: top + plotH / 2, 'font-size': 11, transform: 'rotate(-90 14 ' + (top + plotH / 2) + ')', 'text-anchor': 'middle'}, 'km³ in the month');
    sweep.months.forEach(function (m, i) {
      el('text', {x: left + step * (i + 0.5), y: H - bottom + 16, 'text-anchor': 'middle', 'font-size': 11}, m);
      states.forEach(function (s, k) {
        var h = plotH * rows[s][i] / sweep.top;
        el('rect', {x: left + step * i + step * 0.1 + bar * k, y: top + plotH - h, width: bar, height: h, fill: sweep.colours[s] || '#555'});
      });
    });
    states.forEach(function (s, k) {
      el('rect', {x: left + 10 + 70 * k, y: H - 14, width: 10, height: 10, fill: sweep.colours[s] || '#555'});
      el('text', {x: left + 24 + 70 * k, y: H - 5, 'font-size': 11}, s);
    });
  }
  function show() {
    var r = sweep.rules[choice ? Number(choice.value) : 0], i = Number(slider.value);
    document.getElementById('qt-value').textContent = sweep.levels[i];
    var row = sweep.numbers[r][i];
    Object.keys(row).forEach(function (s) {
      document.getElementById('sw-' + s + '-km3').textContent = text(row[s][0], 2);
      document.getElementById('sw-' + s + '-pct').textContent = text(row[s][1], 1);
      document.getElementById('sw-' + s + '-dry').textContent = text(row[s][2], 2);
      document.getElementById('sw-' + s + '-band').textContent = row[s][3] === null ? '-' : text(row[s][3], 2) + '-' + text(row[s][4], 2);
    });
    chart(sweep.monthly[r][i]);
  }
  if (sweep && slider) {
    slider.addEventListener('input', show);
    if (choice) { choice.addEventListener('change', show); }
    show();
  }
  if (window.location.hash === '#selftest') {
    var images = Array.prototype.slice.call(document.images);
    var result = {errors: errors, images: images.length,
                  images_ok: images.every(function (im) { return im.complete && im.naturalWidth > 0; }), slider: !!slider};
    if (slider) {
      var before = document.getElementById('qt-numbers').textContent + document.getElementById('qt-chart').innerHTML;
      slider.value = slider.max;
      slider.dispatchEvent(new Event('input'));
      var afterLevel = document.getElementById('qt-numbers').textContent + document.getElementById('qt-chart').innerHTML;
      result.changed = afterLevel !== before;
      result.bars = document.getElementById('qt-chart').getElementsByTagName('rect').length;
      result.rules = choice ? choice.options.length : 0;
      if (choice && choice.options.length > 1) {
        choice.value = String(choice.options.length - 1);
        choice.dispatchEvent(new Event('change'));
        result.rule_changed = (document.getElementById('qt-numbers').textContent + document.getElementById('qt-chart').innerHTML) !== afterLevel;
      }
    }
    var pre = document.createElement('pre');
    pre.id = 'selftest-result';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }
})();
</script>
"""

STYLE = """
<style>
body { font-family: Georgia, 'DejaVu Serif', serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
.question { font-size: 1.1rem; background: #f4f1ea; padding: .8rem 1rem; border-left: 4px solid #2c7fb8; }
.summary { font-size: 1.15rem; line-height: 1.5; }
table.t { border-collapse: collapse; font-size: .85rem; margin: .6rem 0; } table.t th, table.t td { padding: .2rem .5rem; border-bottom: 1px solid #ddd; text-align: right; }
table.t th:first-child, table.t td:first-child { text-align: left; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: .85rem; color: #555; }
pre { white-space: pre-wrap; font-size: .75rem; background: #f7f7f7; padding: .5rem; }
input[type=range] { width: 100%; }
</style>
"""


def _image(path: Path, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"></figure>'


def _hindcast_section(folder: Path) -> str:
    """The model against the recorded years: the skill per role, the chart and every figure (hydro hindcast)."""
    from hydro.hindcast import skill
    from hydro.results import check_outputs

    check_outputs(folder, ("hindcast.csv",))
    table = pd.read_csv(folder / "hindcast.csv")
    body = ("<h2>Hindcast: the model against the recorded years</h2><p>Each recorded year replayed after a spin-up "
            "year; every published figure against the model (km3). <i>calibration</i> years may be used to fit the "
            "basin's figures, <i>validation</i> years are held out; <i>input</i> rows are what the replay is built from, "
            "<i>not replayed</i> rows have no recorded flow. Skill: absolute relative error.</p>")
    body += _table(skill(table), 3)
    if (folder / "hindcast.png").exists():
        body += _image(folder / "hindcast.png", "model against record")
    return body + _table(table.drop(columns=["note"]).round(3), 3, index=False)


def _negotiation_section(folder: Path) -> str:
    """Which agreements work (hydro negotiate): the admissible caps, the front, the best compromise under the stated
    weights, the reference and named agreements and the season that costs least."""
    import json

    from hydro.results import check_outputs

    check_outputs(folder, tuple(f for f in ("pareto.csv", "admissible.csv", "agreements.csv") if (folder / f).exists()))
    about = json.loads((folder / "negotiate.json").read_text(encoding="utf-8")) if (folder / "negotiate.json").exists() else {}
    body = ("<h2>Which agreement would work?</h2><p>Every agreement judged on the same members, years and parameter sets "
            f"({about.get('members_per_set', '?')} members x {max(int(about.get('parameter_sets', 0) or 0), 1)} set(s), "
            f"{about.get('years', '?')} years; dry years: {html.escape(str(about.get('dry_year', '?')))}). "
            "Shortfalls are UZB's and TKM's in their dry years, % of their demand in those years; p90: the 90th percentile of "
            "the members.</p>")
    if not (folder / "pareto.csv").exists():  # hydro negotiate --agreements-only: the agreements side by side
        return body + "<h3>Agreements side by side</h3>" + _table(pd.read_csv(folder / "agreements.csv"), 2, index=False)
    pareto = pd.read_csv(folder / "pareto.csv")
    front = pareto[pareto.pareto]
    admissible = pd.read_csv(folder / "admissible.csv")
    body += ("<h3>The largest admissible Qosh Tepa cap</h3><p>km3/yr keeping the UZB + TKM dry-year shortfall at or under "
             "the threshold (total) or letting Qosh Tepa add at most that much (added); band: the members' own caps, 5-95 %; "
             "check_pct: a plain run at the cap; none: above the threshold already without Qosh Tepa.</p>")
    body += _table(admissible, 2, index=False)
    if (folder / "pareto.png").exists():
        body += _image(folder / "pareto.png", "negotiation front")
    body += (f"<p>{len(front)} of {len(pareto)} agreements searched are not dominated; "
             f"{int(pareto.better_than_no_agreement.sum())} leave every party at least as well off as no agreement.</p>")
    best = about.get("compromise")
    if best:
        a = best["agreement"]
        weights = ", ".join(f"{html.escape(k)} {v:g}" for k, v in best["weights"].items())
        body += (f"<p class='summary'>Best compromise under the weights {weights} (each party's objective scaled 0-1 over the "
                 f"front): rule {html.escape(str(a['rule']))}, cap {a['cap_km3']:.2f} km3/yr, {a['growing_share']:.0%} in "
                 f"April-September, {a['spring_cut']:.0%} of April-May given up. Afghanistan takes {a['afg_withdrawal_km3']:.2f} "
                 f"km3/yr; UZB p90 {a['UZB_dry_p90_pct']:.1f} %, TKM p90 {a['TKM_dry_p90_pct']:.1f} %; delta {a['delta_inflow_km3']:.2f} km3/yr.</p>")
    if (folder / "agreements.csv").exists():
        body += "<h3>Reference and named agreements</h3>" + _table(pd.read_csv(folder / "agreements.csv"), 2, index=False)
    if (folder / "least_cost_season.csv").exists():
        season = pd.read_csv(folder / "least_cost_season.csv").drop(columns="pattern")
        body += "<h3>The season that costs the lower reaches least</h3>" + _table(season, 3, index=False)
    return body


def _timeline_section(folder: Path) -> str:
    """Year by year (hydro timeline): the chart, the figures of a few years, and the years things change."""
    import json

    from hydro.results import check_outputs

    check_outputs(folder, ("timeline.csv",))
    table = pd.read_csv(folder / "timeline.csv")
    about = json.loads((folder / "timeline.json").read_text(encoding="utf-8")) if (folder / "timeline.json").exists() else {}
    body = ("<h2>Timeline</h2><p>One transient run as written (Qosh Tepa's build-out "
            f"{html.escape(str(about.get('qosh_tepa_build_out', '-')))}, flow trend {html.escape(str(about.get('hydrology_trend', '-')))}, "
            f"rule {html.escape(str(about.get('rule', '?')))}) and the same without Qosh Tepa on the same members; mean of the "
            "members [5-95 %].</p>")
    if (folder / "timeline.png").exists():
        body += _image(folder / "timeline.png", "timeline")
    years = [y for y in (2026, 2028, 2030, 2035, 2040) if y in set(table.water_year)] or sorted(set(table.water_year))[:5]
    shown = table[table.water_year.isin(years) & (table.quantity != "leverage_rank")]
    shown = shown.assign(figure=[f"{m:.2f} [{a:.2f}-{b:.2f}]" if b == b else f"{m:.2f}" for m, a, b in zip(shown["mean"], shown.p05, shown.p95)])
    body += _table(shown.pivot_table(index=["quantity", "state", "unit"], columns="water_year", values="figure", aggfunc="first", sort=False))
    if about.get("changes"):
        body += "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in about["changes"]) + "</ul>"
    return body


def _sensitivity_section(folder: Path) -> str:
    """Which uncertain figures move Qosh Tepa's cost (hydro sensitivity), and its band (hydro uncertainty)."""
    from hydro.results import check_outputs

    body = ""
    if (folder / "sensitivity.csv").exists():
        check_outputs(folder, ("sensitivity.csv",))
        table = pd.read_csv(folder / "sensitivity.csv")
        body += ("<h2>Which uncertain figures move the answer</h2><p>Qosh Tepa's cost to Uzbekistan and Turkmenistan "
                 "(km3/yr) with each ranged figure of the basin alone at the low and the high end of its range.</p>")
        if (folder / "sensitivity.png").exists():
            body += _image(folder / "sensitivity.png", "sensitivity")
        body += _table(table.drop(columns=[c for c in ("paths",) if c in table]).round(3), 3, index=False)
    if (folder / "uncertainty_band.csv").exists():
        check_outputs(folder, ("uncertainty_band.csv",))
        band = pd.read_csv(folder / "uncertainty_band.csv", index_col=0)
        body += ("<h2>Qosh Tepa's cost with its band</h2><p>Over parameter sets drawn by Latin hypercube, every ranged "
                 "figure uniform over its range (km3/yr; the column 'years' says what each row is measured on).</p>")
        body += _table(band, 2)
    return body


LONG_ATTRS = ("run_file_text", "run_config_json", "network_json", "assumptions_json", "leverage_toml", "references", "map_json",
              "parameter_set_networks_json", "sweep_summary_json")


def _provenance_html(attrs: dict) -> str:
    """Assumptions with their sources, then the provenance (every short attribute) and the run file, for any report
    kind (run, compare, sweep: the attributes of its results)."""
    text = ("<h2>Assumptions and sources</h2><p>Every number of the basin, with its source and confidence (H official or two "
            "sources; M one source; L derived or disputed; U unsourced).</p>")
    text += _table(pd.DataFrame(json.loads(attrs.get("assumptions_json", "[]"))), index=False)
    prov = {k: v for k, v in attrs.items() if k not in LONG_ATTRS}
    text += "<h2>Provenance</h2>" + _table(pd.DataFrame({"value": {k: str(v) for k, v in prov.items()}}))
    return text + f"<h3>Run file</h3><pre>{html.escape(str(attrs.get('run_file_text', '')))}</pre>"


def _results_attrs(folder: Path) -> dict | None:
    """The attributes of a compare's or a sweep's results (compare.nc, or the sweep's first chunk), or None."""
    from hydro.results import open_results

    for path in (folder / "compare.nc", folder / "chunks" / "P0000.nc"):
        if path.exists():
            with open_results(path, lazy=True) as ds:
                return dict(ds.attrs)
    return None


def build_report(folder: str | Path, hindcast: str | Path | None = None, sel: dict | None = None,
                 timeline: str | Path | None = None) -> str:
    """The report of `folder` as one HTML string; `hindcast` adds the skill of a hindcast folder, `timeline` a
    timeline folder's years; `sel` fixes the keys of a sweep (``--sel``)."""
    folder = Path(folder)
    parts, numbers, body, provenance, summary = [], "", "", "", ""
    title = "Amu Darya allocation model report"
    run_path = folder / "results.nc"
    if run_path.exists():
        from hydro.results import check_outputs, counterparts, open_results

        check_outputs(folder, ("results.nc",))
        ds = open_results(run_path, lazy=None)
        others = counterparts(run_path, ds, lazy=None)
        title = ds.attrs.get("title", title) + (f" ({analysis.overrides_text(ds)})" if analysis.overrides_text(ds) else "")
        members = ds.sizes["member"]
        question = (f"If Afghanistan's Qosh Tepa canal withdraws <b>{ds.attrs.get('qosh_tepa_withdrawal_km3', '?'):g} km³/yr</b>, "
                    f"under the allocation rule <b>{html.escape(ds.attrs.get('rule', '?'))}</b>, in "
                    f"<b>{html.escape(analysis.years_label(ds))}</b> ({members} simulation{'s' if members != 1 else ''} x "
                    f"{ds.sizes['time'] // 12} years), how much water do Uzbekistan and Turkmenistan lose, where and when?")
        numbers, body = _run_section(ds, others)
        summary = f'<h2>In short</h2><p class="summary">{html.escape(plain_summary(ds, others))}</p>'
        provenance = _provenance_html(ds.attrs)
    elif (folder / "pareto.csv").exists() or (folder / "agreements.csv").exists():
        question = ("Which Qosh Tepa caps and seasons keep Uzbekistan's and Turkmenistan's dry-year shortfall under a threshold, "
                    "how much water does each leave Afghanistan, and which are better for everyone than no agreement?")
        title = "Amu Darya allocation model: negotiation"
    elif (folder / "timeline.csv").exists():
        question = "Year by year, as Qosh Tepa is built out, the climate shifts and Rogun fills: who loses what, and how does leverage move?"
        title = "Amu Darya allocation model: timeline"
    elif (folder / "hindcast.csv").exists():
        question = "How well does the model reproduce the recorded years?"
        title = "Amu Darya allocation model: hindcast"
    elif (folder / "sensitivity.csv").exists() or (folder / "uncertainty_band.csv").exists():
        question = "Which uncertain figures move the cost of Qosh Tepa to Uzbekistan and Turkmenistan, and by how much?"
        title = "Amu Darya allocation model: uncertainty"
    else:
        question = "What each allocation rule and Qosh Tepa level costs Uzbekistan and Turkmenistan."
    if (folder / "sweep.json").exists():
        body = _sweep_section(folder, sel) + body
    if (folder / "leverage.csv").exists():
        lev = pd.read_csv(folder / "leverage.csv", index_col=0)
        cols = [c for c in ("water", "connectivity", "security", "counter", "score", "rank") if c in lev.columns]
        body += ("<h2>Afghanistan's leverage over each state</h2><p>Score = weighted water, connectivity and security "
                 "exposure less counter-leverage (weights and indicators with sources in the basin's leverage.toml; the "
                 "water dimension is computed from the model). p_rank_N: share of sensitivity samples with rank N.</p>")
        if (folder / "leverage.png").exists():
            body += f'<figure><img alt="leverage by state" src="data:image/png;base64,{base64.b64encode((folder / "leverage.png").read_bytes()).decode()}"></figure>'
        body += _table(lev[cols + [c for c in lev.columns if c.startswith("p_rank_")]], 3)
        if (folder / "leverage_electricity.csv").exists():
            elec = pd.read_csv(folder / "leverage_electricity.csv", index_col=0)
            body += ("<p>Electricity to Afghanistan computed from the model's plants (GWh/yr over the summer months named): "
                     "the plants' generation less the demand on them is the surplus; Afghanistan's share of the state's recorded "
                     "exports of it, capped at the most it has bought plus the new line (cap_gwh), replaces the recorded figure "
                     "in the counter-leverage; value is the mean of the mean year and the dry years, low-high its range.</p>")
            body += _table(elec[[c for c in ("summer_months", "generation_gwh", "demand_gwh", "surplus_gwh", "dry_surplus_gwh",
                                             "to_afghanistan_gwh", "dry_to_afghanistan_gwh", "value", "low", "high", "recorded_gwh",
                                             "cap_gwh") if c in elec.columns]], 0)
            recorded = [c for c in ("counter_recorded", "score_recorded", "rank_recorded") if c in lev.columns]
            if recorded:
                body += "<p>The same scores with the recorded figure instead:</p>" + _table(lev[["counter", "score", "rank", *recorded]], 3)
    if (folder / "pareto.csv").exists() or (folder / "agreements.csv").exists():
        body += _negotiation_section(folder)
    for extra in [p for p in (folder, Path(timeline) if timeline is not None else None) if p is not None]:
        if (extra / "timeline.csv").exists():
            body += _timeline_section(extra)
    for extra in [p for p in (folder, Path(hindcast) if hindcast is not None else None) if p is not None]:
        if (extra / "hindcast.csv").exists():
            body += _hindcast_section(extra)
    body += _sensitivity_section(folder)
    if (folder / "compare.csv").exists():
        table = pd.read_csv(folder / "compare.csv")
        attrs = _results_attrs(folder) or {}
        if not run_path.exists():
            title = attrs.get("title", title) + (f" ({analysis.overrides_text(attrs)})" if analysis.overrides_text(attrs) else "")
            summary = f'<h2>In short</h2><p class="summary">{html.escape(compare_summary(table))}</p>'
        pivot = table.pivot_table(index=["period", "rule", "qosh_tepa_km3"], columns="state", values=["shortfall_km3", "shortfall_pct"], sort=False)
        pivot.columns = [f"{state} {'km3/yr' if col == 'shortfall_km3' else '%'}" for col, state in pivot.columns]
        pivot = pivot[[c for st in dict.fromkeys(table.state) for c in (f"{st} km3/yr", f"{st} %")]]
        body += "<h2>Allocation rules compared (shortfall, km3/yr and % of demand)</h2>"
        if "protocol_566" in set(table.rule):
            body += ('<p class="note">protocol_566 uses UNSOURCED limits (UZB 29.6, TKM 22.0, TJK 9.5 km3/yr): no primary text of '
                     "the protocol was found; they are textbook figures, configurable.</p>")
        if (folder / "compare.png").exists():
            body += f'<figure><img alt="rules compared" src="data:image/png;base64,{base64.b64encode((folder / "compare.png").read_bytes()).decode()}"></figure>'
        body += _table(pivot, 2)
    if not provenance:  # a compare or a sweep: the attributes of its results
        attrs = _results_attrs(folder)
        provenance = _provenance_html(attrs) if attrs else ""
    parts.append(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>{STYLE}</head><body>")
    parts.append(f"<h1>{html.escape(title)}</h1><p class='question'>{question}</p>")
    parts.append(summary)
    if numbers:
        parts.append("<h2>Key numbers: Uzbekistan and Turkmenistan shortfall</h2>" + numbers)
    parts.append(body + provenance + SCRIPT + "</body></html>")
    return "".join(parts)


def write_report(folder: str | Path, out: str | Path | None = None, hindcast: str | Path | None = None, sel: dict | None = None,
                 timeline: str | Path | None = None) -> Path:
    """Write the report of `folder` (default: folder/report.html, added to the folder's outputs manifest) under a
    temporary name, then rename it; `hindcast` adds a hindcast folder's skill."""
    from hydro.results import MANIFEST, atomic_outputs

    folder = Path(folder)
    text = build_report(folder, hindcast, sel, timeline)
    if out is None or (Path(out).parent.resolve() == folder.resolve() and (folder / MANIFEST).exists()):
        name = Path(out).name if out is not None else "report.html"
        with atomic_outputs(folder, f"hydro report {folder}", replace=False) as tmp:
            tmp(name).write_text(text, encoding="utf-8")
        return folder / name
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)
