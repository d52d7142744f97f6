"""The same scenario under several allocation rules (and Qosh Tepa levels), side by side.

Results gain a ``rule`` dimension and a ``qosh_tepa_km3`` dimension; the table holds, per rule, Qosh Tepa level,
period and state, the mean demand, withdrawal and shortfall (km3/yr) and the shortfall in % of demand.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import xarray as xr

from hydro.energy import monthly, with_energy
from hydro.errors import Problem, ScenarioError
from hydro.metrics import PERIODS, state_summary
from hydro.runner import run_scenario
from hydro.scenario import load_scenario


def _twice(values) -> list:
    return [v for i, v in enumerate(values) if v in values[:i]]


def check_options(rules, qosh_tepa_km3) -> None:
    """Refuse up front: no rules, a rule given twice, Qosh Tepa levels (km3/yr) not finite, < 0 or given twice."""
    problems = []
    rules = list(rules or [])
    if not rules:
        problems.append(Problem("<command line>", "--rules", "<none>", "at least one rule name, e.g. --rules upstream_first,icwc_quota"))
    if _twice(rules):
        problems.append(Problem("<command line>", "--rules", ",".join(map(str, rules)), f"each rule once ({', '.join(map(repr, dict.fromkeys(_twice(rules))))} given twice)"))
    levels = list(qosh_tepa_km3 or [])
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level) or level < 0:
            problems.append(Problem("<command line>", "--qosh-tepa", level, "a finite Qosh Tepa target in km3/yr, >= 0"))
    numbers = [float(x) for x in levels if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if _twice(numbers):
        problems.append(Problem("<command line>", "--qosh-tepa", ",".join(f"{x:g}" for x in numbers),
                                f"each Qosh Tepa level once ({', '.join(f'{x:g}' for x in dict.fromkeys(_twice(numbers)))} given twice)"))
    if problems:
        raise ScenarioError(problems)


def compare(run_file, rules: list[str], qosh_tepa_km3: list[float] | None = None, overrides=None):
    """Run `run_file` under each rule (and each Qosh Tepa target, default the run's own).

    Returns (dataset with dims rule, qosh_tepa_km3, member, time, node; table as a DataFrame).
    """
    overrides = list(overrides or [])
    check_options(rules, qosh_tepa_km3)
    base = load_scenario(run_file, overrides)
    levels = list(qosh_tepa_km3) if qosh_tepa_km3 else [base.qosh_tepa.withdrawal_km3]
    by_rule = []
    rows = []
    from hydro.progress import bar

    progress = bar(len(rules) * len(levels), "compare", "run")
    for rule in rules:
        by_level = []
        for level in levels:
            scenario = load_scenario(run_file, [*overrides, ("rule", rule), ("qosh_tepa.withdrawal_km3", float(level))])
            ds = run_scenario(scenario)
            months = monthly(ds)  # once per point, for every period's energy columns
            for period in PERIODS:
                table = with_energy(state_summary(ds, period), ds, period, months)
                for state, row in table.iterrows():
                    rows.append({"rule": rule, "qosh_tepa_km3": float(level), "period": period, "state": state, **row.to_dict()})
            by_level.append(ds)
            progress.update(1)
        by_rule.append(xr.concat(by_level, dim=pd.Index([float(x) for x in levels], name="qosh_tepa_km3"), combine_attrs="drop_conflicts"))
    progress.close()
    combined = xr.concat(by_rule, dim=pd.Index(rules, name="rule"), combine_attrs="drop_conflicts")
    combined.attrs["rules"] = ",".join(rules)
    # its own identity: the run document before the rule and level were set (each point's is that plus them)
    combined.attrs["run_config_json"] = json.dumps(base.doc, sort_keys=True, default=str)
    combined.attrs["rule"] = ",".join(rules)
    combined.attrs["overrides_json"] = json.dumps(overrides, default=str)  # the --set of the comparison, not its points
    combined.attrs["qosh_tepa_withdrawal_km3"] = ",".join(f"{float(x):g}" for x in levels)
    table = pd.DataFrame(rows)
    return combined, table
