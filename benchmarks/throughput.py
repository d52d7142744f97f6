"""Simulator throughput on the shipped basin, in member-months per second (not part of the test suite).

    .venv/bin/python benchmarks/throughput.py [members ...]
"""

from __future__ import annotations

import sys
import time

from hydro.allocation import make_rule
from hydro.run import prepare
from hydro.scenario import load_scenario
from hydro.simulate import simulate


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1, 100, 1000]
    for members in sizes:
        scenario = load_scenario("runs/baseline.toml", [("hydrology.members", members)])
        inputs = prepare(scenario)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, make_rule(scenario.rule))
            best = min(best, time.perf_counter() - t0)
        mm = members * scenario.axis.months
        print(f"{members:6d} members x {scenario.axis.months} months: {best:7.3f} s, {mm / best:12,.0f} member-months/s")


if __name__ == "__main__":
    main(sys.argv[1:])
