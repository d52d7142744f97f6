"""Write the documentation's generated parts into docs/generated/: Markdown fragments and PNG charts.

Every number, table and chart that the pages show comes from here, computed from the model and the basin folder
at build time; the pages pull the fragments in with ``pymdownx.snippets`` (``--8<-- "docs/generated/NAME.md"``).
``make docs`` runs this before ``mkdocs build``, and so does ``tests/test_docs.py``.

Every run is kept small (a few years, a few members) so that the whole generation takes seconds::

    .venv/bin/python docs/generate.py            # writes docs/generated/
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package of this clone, whatever else is installed
OUT = ROOT / "docs" / "generated"
BASIN = ROOT / "basins" / "amu_darya"
MEAN_YEAR = ROOT / "runs" / "mean_year.toml"
BASELINE = ROOT / "runs" / "baseline.toml"
RULES_COMPARE = ROOT / "runs" / "rules_compare.toml"

YEARS = 3  # every generated run: 3 water years, the first a warm-up
LEVELS = [0.0, 3.0, 6.0, 9.0, 12.0]  # Qosh Tepa targets of the withdrawal-levels workflow, km3/yr
FOCUS = 6.0  # the level the text dwells on (the feasibility study's target)
ENSEMBLE_YEARS = YEARS + 1  # the small ensemble of the charts and the band example: 3 analysed years
ENSEMBLE = {"hydrology__members": 5, "uncertainty__parameter_sets": 2}
STATES = ("UZB", "TKM")
GRADES = ("H", "M", "L", "U")  # confidence grades, best first


# --- small helpers -----------------------------------------------------------------------------------------------

def km3(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.2f}"


def pct(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.1f}"


def cell(x) -> str:
    """A value as table text: pipes escaped, new lines folded."""
    return " ".join(str(x).split()).replace("|", "\\|")


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; `align` one letter per column: l(eft) or r(ight)."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write(name: str, text: str) -> None:
    (OUT / name).write_text(text.rstrip() + "\n", encoding="utf-8")


def analysed_years(ds) -> int:
    return int(ds.sizes["time"] // 12)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def run_line(path: Path, ds, years: int, **keys) -> str:
    """How a generated run was made, for the line under its table."""
    sets = ", ".join(f"`{k.replace('__', '.')} = {v}`" for k, v in keys.items())
    analysed = analysed_years(ds)
    return (f"Generated when the site was built: `{path.relative_to(ROOT).as_posix()}` with `time.years = {years}`"
            f"{', ' + sets if sets else ''}: {plural(ds.sizes['member'], 'simulation')}, "
            f"{plural(analysed, 'analysed water year')} after {plural(years - analysed, 'warm-up year')}.")


# --- workflow (a): withdrawal levels -----------------------------------------------------------------------------

def withdrawal_levels(numbers: dict) -> None:
    import hydro
    from hydro.metrics import annual_km3

    rows, base = [], None
    for level in LEVELS:
        ds = hydro.run(MEAN_YEAR, time__years=YEARS, qosh_tepa__withdrawal_km3=level)
        s = hydro.summary(ds)
        took = float(annual_km3(ds.withdrawal.sel(node="qosh_tepa")))
        both = float(s.loc[list(STATES), "shortfall_km3"].sum())
        base = both if base is None else base
        rows.append([f"{level:g}", km3(took),
                     km3(s.loc["UZB", "shortfall_km3"]), pct(s.loc["UZB", "shortfall_pct"]),
                     km3(s.loc["TKM", "shortfall_km3"]), pct(s.loc["TKM", "shortfall_pct"]), km3(both - base)])
        if level == FOCUS:
            focus = s
            numbers.update(uzb_shortfall_km3=km3(s.loc["UZB", "shortfall_km3"]), tkm_shortfall_km3=km3(s.loc["TKM", "shortfall_km3"]),
                           uzb_shortfall_pct=pct(s.loc["UZB", "shortfall_pct"]), tkm_shortfall_pct=pct(s.loc["TKM", "shortfall_pct"]),
                           cost_km3=km3(both - base))
            last = ds
    text = table(["Qosh Tepa target (km3/yr)", "Qosh Tepa took (km3/yr)", "UZB shortfall (km3/yr)", "UZB (% of demand)",
                  "TKM shortfall (km3/yr)", "TKM (% of demand)", "UZB + TKM added by Qosh Tepa (km3/yr)"],
                 rows, "rrrrrrr")
    text += "\n" + run_line(MEAN_YEAR, last, YEARS).replace(":", ", one run per Qosh Tepa target:", 1) + "\n"
    write("withdrawal_levels.md", text)
    write("withdrawal_focus.md",
          f"At the feasibility study's {FOCUS:g} km3/yr, Uzbekistan is short of {km3(focus.loc['UZB', 'shortfall_km3'])} km3/yr "
          f"({pct(focus.loc['UZB', 'shortfall_pct'])} % of its demand of {km3(focus.loc['UZB', 'demand_km3'])} km3/yr) and "
          f"Turkmenistan of {km3(focus.loc['TKM', 'shortfall_km3'])} km3/yr ({pct(focus.loc['TKM', 'shortfall_pct'])} % of "
          f"{km3(focus.loc['TKM', 'demand_km3'])} km3/yr); together they lose {numbers['cost_km3']} km3/yr more than without the canal.")

    ds, others = hydro.run_with_counterparts(MEAN_YEAR, time__years=YEARS, qosh_tepa__withdrawal_km3=FOCUS)
    runs = {"mean year, with Qosh Tepa": ds, "mean year, without": others.get("without_qosh_tepa"),
            "named dry year, with Qosh Tepa": others.get("dry_year"), "named dry year, without": others.get("dry_year_without_qosh_tepa")}
    rows = []
    for label, one in runs.items():
        if one is None:
            continue
        s = hydro.summary(one)
        rows.append([label] + [v for st in STATES for v in (km3(s.loc[st, "shortfall_km3"]), pct(s.loc[st, "shortfall_pct"]))])
    text = table(["run", "UZB shortfall (km3/yr)", "UZB (%)", "TKM shortfall (km3/yr)", "TKM (%)"], rows, "lrrrr")
    text += (f"\nThe counterparts returned: {', '.join(f'`{k}`' for k in others)}. "
             + run_line(MEAN_YEAR, ds, YEARS, qosh_tepa__withdrawal_km3=f"{FOCUS:g}") + "\n")
    write("withdrawal_counterparts.md", text)


# --- workflow (b): rules side by side ----------------------------------------------------------------------------

def rules_side_by_side(numbers: dict) -> None:
    import hydro
    from hydro import charts

    _, cmp_table = hydro.compare(RULES_COMPARE, time__years=YEARS)
    levels = sorted(set(cmp_table.qosh_tepa_km3))
    whole = cmp_table[cmp_table.period == "all"]
    rows = []
    for rule in dict.fromkeys(whole.rule):
        row = [f"`{rule}`"]
        for st in STATES:
            at = {lv: whole[(whole.rule == rule) & (whole.state == st) & (whole.qosh_tepa_km3 == lv)].iloc[0] for lv in levels}
            row += [pct(at[lv].shortfall_pct) for lv in levels]
            row.append(km3(at[levels[-1]].shortfall_km3 - at[levels[0]].shortfall_km3))
        rows.append(row)
    headers = ["rule"]
    for st in STATES:
        headers += [f"{st} % short at {lv:g} km3/yr" for lv in levels] + [f"{st}: Qosh Tepa's cost (km3/yr)"]
    text = table(headers, rows, "l" + "r" * (len(headers) - 1))
    periods = ", ".join(f'"{p}"' for p in dict.fromkeys(cmp_table.period))
    text += (f"\nShortfall over all analysed years, in % of demand; the cost is the shortfall at {levels[-1]:g} km3/yr less "
             f"the shortfall at {levels[0]:g}. The table returned by `hydro.compare` has {len(cmp_table)} rows "
             f"(rule x level x period x state; periods in this run: {periods}). Generated when the site was built: "
             f"`{RULES_COMPARE.relative_to(ROOT).as_posix()}` with `time.years = {YEARS}`.\n")
    write("rules_compare.md", text)
    write("compare_columns.md", columns_table(cmp_table.columns))  # the File formats page: compare.csv
    numbers["rules"] = len(rows)
    charts.save(charts.comparison_figure(cmp_table, f"Allocation rules compared ({YEARS - 1} analysed mean years)"),
                OUT / "rules_compare.png")


# --- workflow (c): charts ----------------------------------------------------------------------------------------

def chart_gallery(ensemble) -> None:
    from hydro import charts

    target = float(ensemble.attrs["qosh_tepa_withdrawal_km3"])
    charts.save(charts.shortfall_figure(ensemble, f"Baseline, small ensemble: Qosh Tepa {target:g} km3/yr"), OUT / "chart_shortfall.png")
    charts.save(charts.geographic_map(ensemble).figure, OUT / "chart_map.png")
    charts.save(charts.shortfall_heatmap(ensemble).figure, OUT / "chart_heatmap.png")
    write("charts_run.md", run_line(BASELINE, ensemble, ENSEMBLE_YEARS, **ENSEMBLE))


# --- the basin and its sources -----------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*(\S.*?)\s*$")


def _in_units_of(text: str, values, dimension: str) -> str:
    """Model-unit `values` written in the unit of the figure's own text ("26.2 km3/yr" -> km3/yr)."""
    from hydro.units import UnitError, parse_quantity

    m = _QUANTITY.match(text) if dimension != "number" else None
    if m:
        try:
            factor = parse_quantity(f"1 {m.group(1)}", dimension).value
            return " to ".join(f"{v / factor:.4g}" for v in values) + f" {m.group(1)}"
        except UnitError:
            pass
    return " to ".join(f"{v:.4g}" for v in values) + ("" if dimension == "number" else " (model units)")


_ADDRESS = re.compile(r"https?://[^\s;]+")


def links(text: str) -> str:
    """A sources.toml ``url`` as Markdown: each web address (several are split by " ; ") a link, the rest as text."""
    return _ADDRESS.sub(lambda m: f"<{m.group(0)}>", text).replace(" ; ", "<br>") if text else "-"


def basin_tables() -> None:
    from hydro.basin import load_basin

    basin = load_basin(BASIN)
    rows = []
    for path, fig in basin.figures():
        rng = _in_units_of(fig.text, fig.range, fig.dimension) if fig.range else ""
        rows.append([f"`{path}`", fig.text, rng, f"`{fig.source}`", fig.confidence])
    write("basin_figures.md", table(["figure", "value", "range", "source", "confidence"], rows))
    used = {fig.source for _, fig in basin.figures()}
    rows = []
    for key, src in sorted(basin.sources.items()):
        rows.append([f"`{key}`", src.get("title", ""), links(str(src.get("url", ""))), src.get("confidence", ""), "yes" if key in used else ""])
    write("basin_sources.md", table(["key", "title", "address", "confidence", "cited by a figure above"], rows))

    kinds = pd.Series([n.kind for n in basin.nodes.values()]).value_counts()
    conf = pd.Series([f.confidence for _, f in basin.figures()]).value_counts()
    ranged = sum(1 for _, f in basin.figures() if f.range)
    write("basin_counts.md",
          f"The basin **{basin.title or basin.name}** has {len(basin.nodes)} nodes "
          f"({', '.join(f'{n} {k}' for k, n in kinds.items())}) joined by {len(basin.reaches)} reaches. "
          f"It holds {sum(conf)} sourced figures ({', '.join(f'{conf[c]} of confidence {c}' for c in GRADES if c in conf)}), "
          f"{ranged} of them with a range, citing {len(used)} of the {len(basin.sources)} sources in `sources.toml`.")


# --- allocation rules: options and default limits ----------------------------------------------------------------

def toml_value(value) -> str:
    """A default as a run file would write it (None: the option is unset)."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def init_options(klass) -> list[tuple[str, object]]:
    """(name, default) of the options a class's own __init__ declares (none when it inherits its __init__)."""
    if "__init__" not in vars(klass):
        return []
    return [(p.name, p.default) for p in inspect.signature(klass.__init__).parameters.values()
            if p.name not in ("self", "options") and p.kind is not p.VAR_KEYWORD]


def rule_options() -> None:
    from hydro.allocation import RULES, AllocationRule
    from hydro.allocation import rule_options as accepted

    common = init_options(AllocationRule)
    rows = []
    for name, cls in RULES.items():
        own = []
        for klass in cls.__mro__:
            if klass in (object, AllocationRule):
                continue
            own += [(n, d) for n, d in init_options(klass) if n not in dict(own)]
        missing = set(accepted(name)) - set(dict(own)) - set(dict(common))
        if missing:
            raise SystemExit(f"docs/generate.py: rule {name!r} accepts {sorted(missing)}, which this table would leave out")
        limits = getattr(cls, "default_limits", None)
        rows.append([f"`{name}` (class `{cls.__name__}`)", ", ".join(f"{s} {v:g}" for s, v in limits.items()) if limits else "-",
                     "; ".join(f"`{n} = {toml_value(d)}`" for n, d in own) or "-"])
    text = table(["rule", "default annual limits (km3)", "its own options (`[allocation]`) and defaults"], rows)
    text += ("\n`limits_km3` unset means the default limits of the second column; `shares` unset means half each for "
             "Uzbekistan and Turkmenistan. Every rule also takes the common options:\n\n")
    text += table(["option", "default"], [[f"`{n}`", f"`{toml_value(d)}`"] for n, d in common])
    write("rule_options.md", text)


# --- file formats ------------------------------------------------------------------------------------------------

BASE_COLUMNS = {
    "demand_km3": "annual mean demand, km3/yr",
    "withdrawal_km3": "annual mean withdrawal, km3/yr",
    "shortfall_km3": "annual mean shortfall (demand less withdrawal), km3/yr",
    "shortfall_pct": "shortfall in % of demand",
    "shortfall_from_parameters_pct": "share of the variance of the members' shortfall that comes from the parameter sets, % (empty without parameter sets)",
    "shortfall_from_hydrology_pct": "the rest of that variance: from the hydrological members, % (empty when there is no spread)",
    "rule": "the allocation rule",
    "qosh_tepa_km3": "Qosh Tepa's annual target, km3/yr",
    "state": "the state (AFG, TJK, UZB, TKM)",
    "offtake": "the offtake (canal or province), the table's index",
    "province": "the province it serves",
    "energy_winter_twh": "hydropower of the state's plants in October-March, TWh/yr (empty for a state without a plant; hydro.energy)",
    "energy_summer_twh": "the same in April-September, TWh/yr",
    "energy_twh": "the same over the year, TWh/yr",
}


def describe(column: str) -> str:
    """What a column of the CSV outputs holds; an unknown column stops the build (so that the page never lags)."""
    if column in BASE_COLUMNS:
        return BASE_COLUMNS[column]
    if column == "period":
        from hydro.metrics import PERIODS

        return ("which member-years: " + ", ".join(f'"{p}"' for p in PERIODS) + " (a period the run has no year of "
                "is left out; the growing season, April-September, is counted per season)")
    if column.startswith("dry_"):
        return "the same over the dry water years: " + describe(column[4:])
    if column.startswith("growing_"):
        return "the same in the growing season (April-September), km3 per season: " + describe(column[8:])
    for suffix, q in (("_p05", "5th"), ("_p95", "95th")):
        if column.endswith(suffix):
            return f"{q} percentile over the simulations of each simulation's own mean of `{column[:-4]}` (the band's {'low' if q == '5th' else 'high'} end)"
    raise SystemExit(f"docs/generate.py: no description for the column {column!r}; add it to BASE_COLUMNS")


def columns_table(columns) -> str:
    return table(["column", "what it holds"], [[f"`{c}`", describe(c)] for c in columns])


RESULTS_EXAMPLES = {  # name in the page -> (run file, overrides): the runs whose results.nc the page describes
    "mean year": (MEAN_YEAR, [("time.years", YEARS)]),
    "small ensemble": (BASELINE, [("time.years", YEARS), ("hydrology.members", 2), ("uncertainty.parameter_sets", 2)]),
}


def results_structure(tmp: Path) -> None:
    """The layout of results.nc, read back from files that hydro's own writer made for two small runs."""
    import netCDF4

    from hydro.runner import write_run
    from hydro.scenario import load_scenario

    paths = {}
    for label, (run_file, overrides) in RESULTS_EXAMPLES.items():
        paths[label] = tmp / f"{label.replace(' ', '_')}.nc"
        write_run(load_scenario(run_file, overrides), paths[label])
    made = "; ".join(f"{label}: `{run_file.relative_to(ROOT).as_posix()}` with "
                     + ", ".join(f"`{k} = {v}`" for k, v in overrides) for label, (run_file, overrides) in RESULTS_EXAMPLES.items())
    counts = {"time": "months", "member": "simulations",
              "node": "nodes of the network", "nv": "the two ends of a month (`time_bnds`)"}
    with netCDF4.Dataset(paths["small ensemble"]) as nc:
        dims = table(["dimension", "size in the small ensemble", "what it counts"],
                     [[f"`{d}`", len(v), counts.get(d, "characters of a string coordinate") + (" (unlimited: the record dimension)" if v.isunlimited() else "")]
                      for d, v in nc.dimensions.items()], "lrl")
        bounds = {var.getncattr("bounds"): name for name, var in nc.variables.items() if "bounds" in var.ncattrs()}
        rows = []
        for name, var in nc.variables.items():
            attrs = {a: var.getncattr(a) for a in var.ncattrs()}
            rows.append([f"`{name}`", f"({', '.join(var.dimensions)})", attrs.get("units", ""), attrs.get("cell_methods", ""),
                         attrs.get("standard_name", "") or attrs.get("cf_role", ""),
                         attrs.get("long_name", "") or (f"bounds of `{bounds[name]}`" if name in bounds else "")])
        variables = table(["variable", "dimensions on disk", "units", "cell_methods", "standard_name / cf_role", "long_name"], rows)
        glob = ", ".join(f"`{a}`" for a in nc.ncattrs())
    groups = []
    for label, path in paths.items():
        with netCDF4.Dataset(path) as nc:
            for name, grp in nc.groups.items():
                for sub, g in grp.groups.items():
                    groups.append([label, f"`{name}/{sub}`", ", ".join(f"`{v}`" for v in g.variables if len(g.variables[v].dimensions) == 3)])
    write("results_dims.md", dims + f"\nRead from results files written when the site was built ({made}).\n")
    write("results_variables.md", variables)
    write("results_attributes.md", f"Global attributes of the small ensemble's file: {glob}.")
    write("results_groups.md", table(["run", "group", "its (member, time, node) variables"], groups))


def csv_columns(ensemble) -> None:
    import hydro
    from hydro.metrics import SUMMARY_COLUMNS, offtake_summary
    from hydro.sweeps import point_summary

    write("summary_columns.md", columns_table(["state", *SUMMARY_COLUMNS]))
    s = hydro.summary(ensemble).round(3)
    shown = ["shortfall_km3", "shortfall_km3_p05", "shortfall_km3_p95", "shortfall_pct", "shortfall_from_parameters_pct"]
    rows = [[st] + [("" if not np.isfinite(v) else f"{v:g}") for v in s.loc[st, shown]] for st in s.index]
    write("summary_example.md", table(["state", *shown], rows, "l" + "r" * len(shown)) + "\n" + run_line(BASELINE, ensemble, ENSEMBLE_YEARS, **ENSEMBLE))
    write("offtakes_columns.md", columns_table(["offtake", *offtake_summary(ensemble).columns]))
    sweep_cols = list(point_summary(ensemble)[0])
    write("sweep_columns.md", table(["column", "what it holds"],
                                    [["one column per varied key, named as the key (`qosh_tepa.withdrawal_km3`, `rule`, ...)", "the sweep point's value"]]
                                    + [[f"`{c}`", describe(c)] for c in sweep_cols]))


def run_keys() -> None:
    from hydro.scenario import REQUIRED, SCHEMA, SECTIONS

    class Unset:
        def __str__(self) -> str:
            return "?"

    rows = []
    for key, (check, default) in SCHEMA.items():
        try:
            expected = check(Unset()) or ""
        except Exception:  # noqa: BLE001  (a check that cannot judge the stand-in: say nothing)
            expected = ""
        expected = expected.split("expected ", 1)[-1] if "is not a month" in expected else expected
        shown = "required" if default is REQUIRED else ("unset (see below)" if default is None else f"`{json.dumps(default)}`")
        rows.append([f"`{key}`", shown, expected])
    write("run_keys.md", table(["key", "default", "accepted values"], rows))
    write("run_sections.md", "Sections a run file may hold: " + ", ".join(f"`[{s}]`" for s in sorted(SECTIONS)) + ".")


def parameter_sets() -> None:
    path = BASIN / "parameter_sets.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    notes = [ln[1:].strip() for ln in lines if ln.startswith("#")]
    frame = pd.read_csv(path, comment="#")
    figures = [c for c in frame.columns if c.startswith(("node.", "reach.", "stochastic."))]
    scores = [c for c in frame.columns if c not in figures]
    text = (f"The shipped file holds **{len(frame)} sets** (one row each), {len(notes)} provenance lines (`#`), "
            f"{len(scores)} identifying and score columns ({', '.join(f'`{c}`' for c in scores)}) and "
            f"{len(figures)} figure columns:\n\n")
    text += table(["figure column", "smallest", "largest"],
                  [[f"`{c}`", f"{frame[c].min():.4g}", f"{frame[c].max():.4g}"] for c in figures], "lrr")
    text += "\nIts provenance lines:\n\n```text\n" + "\n".join(notes) + "\n```\n"
    write("parameter_sets.md", text)


def map_folder() -> None:
    folder = BASIN / "map"
    rows = [[f"`{p.name}`", f"{p.stat().st_size / 1000:.0f} kB"] for p in sorted(folder.iterdir()) if p.is_file()]
    nodes = pd.read_csv(folder / "nodes.csv")
    conf = nodes.confidence.value_counts()
    text = table(["file", "size"], rows, "lr")
    text += (f"\n`nodes.csv` has {len(nodes)} rows, columns {', '.join(f'`{c}`' for c in nodes.columns)}; "
             f"confidence: {', '.join(f'{conf[c]} {c}' for c in GRADES if c in conf)}.\n")
    write("map_folder.md", text)


# --- main --------------------------------------------------------------------------------------------------------

def main() -> int:
    started = time.perf_counter()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    import hydro

    numbers: dict = {}
    steps = []

    def step(label, fn, *args):
        t = time.perf_counter()
        fn(*args)
        steps.append(f"{label} {time.perf_counter() - t:.1f} s")

    ensemble = None

    def make_ensemble():
        nonlocal ensemble
        ensemble = hydro.run(BASELINE, time__years=ENSEMBLE_YEARS, **ENSEMBLE)

    step("withdrawal levels", withdrawal_levels, numbers)
    step("rules", rules_side_by_side, numbers)
    step("ensemble", make_ensemble)
    step("charts", chart_gallery, ensemble)
    step("basin", basin_tables)
    step("rule options", rule_options)
    with tempfile.TemporaryDirectory() as tmp:
        step("results.nc", results_structure, Path(tmp))
    step("csv columns", csv_columns, ensemble)
    step("run keys", run_keys)
    step("parameter sets", parameter_sets)
    step("map", map_folder)
    numbers["package_version"] = hydro.__version__
    (OUT / "numbers.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"docs/generate.py: wrote {len(list(OUT.iterdir()))} files into {OUT.relative_to(ROOT)} in "
          f"{time.perf_counter() - started:.1f} s ({'; '.join(steps)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
