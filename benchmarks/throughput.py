"""Simulator throughput on the shipped basin, in member-months per second (not part of the test suite).

    .venv/bin/python benchmarks/throughput.py [members ...]

Each size runs runs/baseline.toml (30 years, stochastic members) three times and reports the best; results are
kept in memory with the variables a sweep keeps (hydro.sweep.SUMMARY_VARIABLES). Also times a 100-year single
member run after import (the check every user run does, mass balance included).
"""

from __future__ import annotations

import sys
import time

from hydro.allocation import make_rule
from hydro.run import prepare
from hydro.scenario import load_scenario
from hydro.simulate import simulate
from hydro.sweep import SUMMARY_VARIABLES


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1, 100, 10_000]
    for members in sizes:
        scenario = load_scenario("runs/baseline.toml", [("hydrology.kind", "stochastic"), ("hydrology.members", members)])
        inputs = prepare(scenario)
        seconds = best_of(3 if members <= 1000 else 1, lambda: simulate(inputs.network, inputs.inflows, inputs.demands,
                                                                         scenario.axis, make_rule(scenario.rule), keep=SUMMARY_VARIABLES))
        mm = members * scenario.axis.months
        print(f"{members:6d} members x {scenario.axis.months} months: {seconds:7.3f} s, {mm / seconds:12,.0f} member-months/s")
    scenario = load_scenario("runs/baseline.toml", [("time.years", 100)])
    inputs = prepare(scenario)
    seconds = best_of(5, lambda: simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, make_rule(scenario.rule)))
    print(f"one member x 100 years (all variables): {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
