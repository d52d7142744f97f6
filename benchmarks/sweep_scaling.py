"""How a sweep scales with the number of dask workers (not part of the test suite).

    .venv/bin/python benchmarks/sweep_scaling.py [members] [years]

Runs the same 8-point grid (Qosh Tepa 0, 4, 8, 12 km3/yr x two rules) with 1 and 2 local worker processes and
in-process (workers=0), each into a fresh folder, and reports wall time and speed-up.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from hydro.sweeps import run_sweep

VARIES = [("qosh_tepa.withdrawal_km3", [0, 4, 8, 12]), ("rule", ["upstream_first", "icwc_quota"])]


def main(argv: list[str]) -> None:
    members = int(argv[0]) if argv else 200
    years = int(argv[1]) if len(argv) > 1 else 30
    overrides = [("hydrology.members", members), ("time.years", years)]
    base = Path(tempfile.mkdtemp(prefix="sweep-scaling-"))
    times = {}
    try:
        for workers in (0, 1, 2):
            out = base / f"w{workers}"
            t0 = time.perf_counter()
            run_sweep("runs/qosh_tepa_sweep.toml", VARIES, out, overrides, workers=workers, progress=False)
            times[workers] = time.perf_counter() - t0
            print(f"workers={workers}: {times[workers]:6.1f} s for 8 chunks of {members} members x {years} years")
        print(f"speed-up 2 workers vs 1: {times[1] / times[2]:.2f}x; 1 worker vs in-process: {times[0] / times[1]:.2f}x")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main(sys.argv[1:])
