"""Simulator throughput on the shipped basin, in member-months per second (not part of the test suite).

    .venv/bin/python benchmarks/throughput.py [members ...]      # default: 1 100 1000 10000 100000

Each size runs runs/mean_year.toml (30 years, stochastic members, rule upstream_first) and reports the best of
three (one above 10,000 members) of ``simulate(...)`` alone, which includes the monthly mass-balance check:

- *kernel*: nothing kept but the check's residuals (what a search or an uncertainty loop pays per run);
- *summary kept*: the sweep's summary variables at the summary nodes, float64, in memory (up to 10,000 members:
  beyond, the arrays alone exceed this machine's memory; sweeps and large runs write them block by block).

Then every rule at 1,000 members (kernel), and one member x 100 years with every variable kept, in-process.
The compiled kernel is loaded from numba's disk cache (the first call of a fresh clone compiles it: see README).
"""

from __future__ import annotations

import sys
import time

import numba

from hydro.allocation import RULES, make_rule
from hydro.runner import prepare
from hydro.scenario import load_scenario
from hydro.simulate import simulate
from hydro.variables import SUMMARY_VARIABLES, summary_nodes


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def rate(members: int, rule: str = "upstream_first", keep=(), nodes=None, years: int = 30) -> float:
    scenario = load_scenario("runs/mean_year.toml", [("hydrology.kind", "stochastic"), ("hydrology.members", members),
                                                   ("rule", rule), ("time.years", years)])
    inputs = prepare(scenario)
    kept = nodes(inputs.network) if nodes else None
    simulate(inputs.network, inputs.inflows[:1], inputs.demands, scenario.axis, make_rule(rule), keep=keep)  # load the kernel
    seconds = best_of(3 if members <= 10_000 else 1, lambda: simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis,
                                                                        make_rule(rule), keep=keep, nodes=kept))
    return members * scenario.axis.months / seconds


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1, 100, 1_000, 10_000, 100_000]
    print(f"{numba.get_num_threads()} threads; member-months per second, balance checked")
    print(f"{'members':>8} {'kernel':>14} {'summary kept':>14}")
    for members in sizes:
        summary = rate(members, keep=SUMMARY_VARIABLES, nodes=summary_nodes) if members <= 10_000 else float("nan")
        print(f"{members:8d} {rate(members):14,.0f} {summary:14,.0f}")
    print("every rule, 1,000 members (kernel):")
    for rule in RULES:
        print(f"  {rule:16s} {rate(1000, rule):12,.0f}")
    scenario = load_scenario("runs/mean_year.toml", [("time.years", 100)])
    inputs = prepare(scenario)
    seconds = best_of(5, lambda: simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, make_rule(scenario.rule)))
    print(f"one member x 100 years (all variables kept): {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
