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


def parse_policies(text: str) -> tuple[str, list[str]]:
    """'RESERVOIR=P1,P2' (the --policy option) as (reservoir, [policies]); ScenarioError naming the option otherwise."""
    name, _, values = str(text).partition("=")
    policies = [p.strip() for p in values.split(",") if p.strip()]
    if not name.strip() or not policies or _twice(policies):
        raise ScenarioError([Problem("<command line>", "--policy", text, "RESERVOIR=POLICY,POLICY with each policy once, e.g. nurek=curve,schedule,energy")])
    return name.strip(), policies


def compare(run_file, rules: list[str], qosh_tepa_km3: list[float] | None = None, overrides=None,
            policies: tuple[str, list[str]] | None = None):
    """Run `run_file` under each rule (and each Qosh Tepa target, default the run's own; and, with `policies` =
    (reservoir, [policy, ...]), each operating policy of that reservoir).

    Returns (dataset with dims rule, [policy,] qosh_tepa_km3, member, time, node; table as a DataFrame, with a
    ``policy`` column when policies are compared).
    """
    overrides = list(overrides or [])
    check_options(rules, qosh_tepa_km3)
    base = load_scenario(run_file, overrides)
    levels = list(qosh_tepa_km3) if qosh_tepa_km3 else [base.qosh_tepa.withdrawal_km3]
    reservoir, names = policies if policies else (None, [None])
    if reservoir is not None:  # every policy checked against the run file before anything runs
        for policy in names:
            load_scenario(run_file, [*overrides, (f"reservoirs.{reservoir}.policy", policy)])
    by_rule = []
    rows = []
    from hydro.progress import bar

    progress = bar(len(rules) * len(names) * len(levels), "compare", "run")
    for rule in rules:
        by_policy = []
        for policy in names:
            chosen = [(f"reservoirs.{reservoir}.policy", policy)] if policy is not None else []
            by_level = []
            for level in levels:
                scenario = load_scenario(run_file, [*overrides, *chosen, ("rule", rule), ("qosh_tepa.withdrawal_km3", float(level))])
                ds = run_scenario(scenario)
                months = monthly(ds)  # once per point, for every period's energy columns
                for period in PERIODS:
                    table = with_energy(state_summary(ds, period), ds, period, months)
                    for state, row in table.iterrows():
                        label = {"policy": f"{reservoir} {policy}"} if policy is not None else {}
                        rows.append({"rule": rule, **label, "qosh_tepa_km3": float(level), "period": period, "state": state, **row.to_dict()})
                by_level.append(ds)
                progress.update(1)
            by_policy.append(xr.concat(by_level, dim=pd.Index([float(x) for x in levels], name="qosh_tepa_km3"), combine_attrs="drop_conflicts"))
        by_rule.append(by_policy[0] if reservoir is None else
                       xr.concat(by_policy, dim=pd.Index([f"{reservoir} {p}" for p in names], name="policy"), combine_attrs="drop_conflicts"))
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
