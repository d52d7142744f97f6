"""Throughput of the negotiation search: agreements judged per second and member-runs per second.

    .venv/bin/python benchmarks/negotiate.py [--members 10] [--sets 5] [--years 21] [--agreements 60]

Judges `--agreements` random agreements (cap 0-12 km3/yr, season, spring cut, one of three rules) on
runs/negotiate.toml with the given members, parameter sets and years, the way ``hydro negotiate`` does (inflows
built once per parameter set, each agreement a simulation per set), and prints the rates. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from hydro import negotiation

RUN = Path(__file__).resolve().parent.parent / "runs" / "negotiate.toml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--sets", type=int, default=5)
    p.add_argument("--years", type=int, default=21)
    p.add_argument("--agreements", type=int, default=60)
    a = p.parse_args()
    started = time.perf_counter()
    ev = negotiation.Evaluator(RUN, [("hydrology.members", a.members), ("uncertainty.parameter_sets", a.sets), ("time.years", a.years)])
    ev.measure([])  # the first simulation compiles nothing (numba caches on disk) but warms the caches
    prepared = time.perf_counter() - started
    rng = np.random.default_rng(0)
    rules = ["upstream_first", "icwc_quota", "kerki_split"]
    t0, runs0 = time.perf_counter(), ev.member_runs
    for _ in range(a.agreements):
        ev.measure(negotiation.agreement_settings(rng.uniform(0, 12), rng.uniform(0, 1), rng.uniform(0, 1), rules[rng.integers(3)]))
    dt = time.perf_counter() - t0
    member_runs = ev.member_runs - runs0
    print(f"prepared {max(a.sets, 1)} parameter set(s) x {a.members} members x {a.years} years in {prepared:.1f} s")
    print(f"{a.agreements} agreements in {dt:.1f} s: {a.agreements / dt:.1f} agreements/s, {member_runs / dt:.0f} member-runs/s, "
          f"{member_runs * a.years / dt:,.0f} member-years/s")


if __name__ == "__main__":
    main()
