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

from hydro import analysis, charts, metrics
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


def _assumptions(ds: xr.Dataset) -> pd.DataFrame:
    """The basin's sourced figures, as the results file carries them."""
    return pd.DataFrame(json.loads(ds.attrs.get("assumptions_json", "[]")))


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
    note = " ".join(x for x in (numbers.attrs.get("years", ""), band_note(ds), numbers.attrs.get("cost_shares", "")) if x)
    return _table(numbers) + f'<p class="note">{html.escape(note)}</p>', body


def _sweep_section(folder: Path) -> str:
    """A slider over the Qosh Tepa level: key numbers and a monthly chart per level, pre-rendered."""
    from hydro.sweeps import open_sweep

    table = pd.read_csv(folder / "sweep.csv")
    key = "qosh_tepa.withdrawal_km3"
    if key not in table.columns:
        return "<p>This sweep does not vary the Qosh Tepa withdrawal: no slider.</p>"
    ds = open_sweep(folder)
    rule = str(ds.rule.values[0]) if "rule" in ds.dims else None
    if rule is not None:
        table = table[table.rule == rule]
        ds = ds.sel(rule=rule)
    levels = sorted(set(table[key]))
    data, pictures = [], []
    for level in levels:
        rows = table[(table[key] == level) & table.state.isin(STATES)].set_index("state")
        data.append({s: [round(float(rows.loc[s, "shortfall_km3"]), 2), round(float(rows.loc[s, "shortfall_pct"]), 1),
                         None if np.isnan(rows.loc[s, "dry_shortfall_km3"]) else round(float(rows.loc[s, "dry_shortfall_km3"]), 2)]
                     for s in STATES})
        point = ds.sel({key: level}).load()
        pictures.append(_png(charts.shortfall_figure(point, f"Qosh Tepa {level:g} km³/yr" + (f", rule {rule}" if rule else ""))))
    overview = _ax_png(charts.shortfall_vs_withdrawal, ds.load())
    cells = "".join(f"<tr><th>{s}</th><td id='sw-{s}-km3'></td><td id='sw-{s}-pct'></td><td id='sw-{s}-dry'></td></tr>" for s in STATES)
    return f"""
<h2>Qosh Tepa withdrawal: move the slider</h2>
<p>{len(levels)} levels from the sweep in <code>{html.escape(str(folder))}</code>{', rule ' + html.escape(rule) if rule else ''}.</p>
<label for="qt-slider">Qosh Tepa withdrawal: <b id="qt-value"></b> km³/yr</label>
<input type="range" id="qt-slider" min="0" max="{len(levels) - 1}" step="1" value="0">
<table class="t" id="qt-numbers"><tr><th>state</th><th>shortfall (km³/yr)</th><th>shortfall (% of demand)</th><th>dry years (km³/yr)</th></tr>{cells}</table>
<figure><img id="qt-chart" alt="shortfall at the chosen level" src="{pictures[0]}"><figcaption>Shortfall at the chosen level</figcaption></figure>
<figure><img alt="shortfall against withdrawal" src="{overview}"><figcaption>Shortfall against Qosh Tepa withdrawal</figcaption></figure>
<script id="sweep-data" type="application/json">{json.dumps({"levels": levels, "numbers": data, "charts": pictures})}</script>
"""


SCRIPT = """
<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  var node = document.getElementById('sweep-data');
  var sweep = node ? JSON.parse(node.textContent) : null;
  var slider = document.getElementById('qt-slider');
  function show(i) {
    document.getElementById('qt-value').textContent = sweep.levels[i];
    var row = sweep.numbers[i];
    Object.keys(row).forEach(function (s) {
      document.getElementById('sw-' + s + '-km3').textContent = row[s][0].toFixed(2);
      document.getElementById('sw-' + s + '-pct').textContent = row[s][1].toFixed(1);
      document.getElementById('sw-' + s + '-dry').textContent = row[s][2] === null ? '-' : row[s][2].toFixed(2);
    });
    document.getElementById('qt-chart').src = sweep.charts[i];
  }
  if (sweep && slider) {
    slider.addEventListener('input', function () { show(Number(slider.value)); });
    show(0);
  }
  if (window.location.hash === '#selftest') {
    var images = Array.prototype.slice.call(document.images);
    var result = {errors: errors, images: images.length,
                  images_ok: images.every(function (im) { return im.complete && im.naturalWidth > 0; }), slider: !!slider};
    if (slider) {
      var before = document.getElementById('qt-numbers').textContent;
      slider.value = slider.max;
      slider.dispatchEvent(new Event('input'));
      result.changed = document.getElementById('qt-numbers').textContent !== before;
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


def build_report(folder: str | Path, hindcast: str | Path | None = None) -> str:
    """The report of `folder` as one HTML string; `hindcast` adds the skill of a hindcast folder."""
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
        body += "<h2>Assumptions and sources</h2><p>Every number of the basin, with its source and confidence (H official or two sources; M one source; L derived or disputed; U unsourced).</p>"
        body += _table(_assumptions(ds), index=False)
        prov = {k: v for k, v in ds.attrs.items() if k not in ("run_file_text", "run_config_json", "network_json", "assumptions_json", "leverage_toml", "references")}
        provenance = "<h2>Provenance</h2>" + _table(pd.DataFrame({"value": {k: str(v) for k, v in prov.items()}}))
        provenance += f"<h3>Run file</h3><pre>{html.escape(ds.attrs.get('run_file_text', ''))}</pre>"
    elif (folder / "hindcast.csv").exists():
        question = "How well does the model reproduce the recorded years?"
        title = "Amu Darya allocation model: hindcast"
    elif (folder / "sensitivity.csv").exists() or (folder / "uncertainty_band.csv").exists():
        question = "Which uncertain figures move the cost of Qosh Tepa to Uzbekistan and Turkmenistan, and by how much?"
        title = "Amu Darya allocation model: uncertainty"
    else:
        question = "What each allocation rule and Qosh Tepa level costs Uzbekistan and Turkmenistan."
    if (folder / "sweep.json").exists():
        body = _sweep_section(folder) + body
    if (folder / "leverage.csv").exists():
        lev = pd.read_csv(folder / "leverage.csv", index_col=0)
        cols = [c for c in ("water", "connectivity", "security", "counter", "score", "rank") if c in lev.columns]
        body += ("<h2>Afghanistan's leverage over each state</h2><p>Score = weighted water, connectivity and security "
                 "exposure less counter-leverage (weights and indicators with sources in the basin's leverage.toml; the "
                 "water dimension is computed from the model). p_rank_N: share of sensitivity samples with rank N.</p>")
        if (folder / "leverage.png").exists():
            body += f'<figure><img alt="leverage by state" src="data:image/png;base64,{base64.b64encode((folder / "leverage.png").read_bytes()).decode()}"></figure>'
        body += _table(lev[cols + [c for c in lev.columns if c.startswith("p_rank_")]], 3)
    for extra in [p for p in (folder, Path(hindcast) if hindcast is not None else None) if p is not None]:
        if (extra / "hindcast.csv").exists():
            body += _hindcast_section(extra)
    body += _sensitivity_section(folder)
    if (folder / "compare.csv").exists():
        table = pd.read_csv(folder / "compare.csv")
        pivot = table.pivot_table(index=["period", "rule", "qosh_tepa_km3"], columns="state", values="shortfall_pct", sort=False)
        body += "<h2>Allocation rules compared (shortfall, % of demand)</h2>"
        if (folder / "compare.png").exists():
            body += f'<figure><img alt="rules compared" src="data:image/png;base64,{base64.b64encode((folder / "compare.png").read_bytes()).decode()}"></figure>'
        body += _table(pivot, 1)
    parts.append(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>{STYLE}</head><body>")
    parts.append(f"<h1>{html.escape(title)}</h1><p class='question'>{question}</p>")
    parts.append(summary)
    if numbers:
        parts.append("<h2>Key numbers: Uzbekistan and Turkmenistan shortfall</h2>" + numbers)
    parts.append(body + provenance + SCRIPT + "</body></html>")
    return "".join(parts)


def write_report(folder: str | Path, out: str | Path | None = None, hindcast: str | Path | None = None) -> Path:
    """Write the report of `folder` (default: folder/report.html, added to the folder's outputs manifest) under a
    temporary name, then rename it; `hindcast` adds a hindcast folder's skill."""
    from hydro.results import MANIFEST, atomic_outputs

    folder = Path(folder)
    text = build_report(folder, hindcast)
    if out is None or (Path(out).parent.resolve() == folder.resolve() and (folder / MANIFEST).exists()):
        name = Path(out).name if out is not None else "report.html"
        with atomic_outputs(folder, f"hydro report {folder}", replace=False) as tmp:
            tmp(name).write_text(text, encoding="utf-8")
        return folder / name
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)
