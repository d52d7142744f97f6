"""Cost of compressing results: netCDF zlib levels against `gzip -1` on the same bytes (not part of the tests).

    .venv/bin/python benchmarks/compression.py [members]

Simulates runs/ensemble.toml (30 years, `members` stochastic members, default 200), then writes its CF results
file (hydro.results.write_results, fletcher32 checksums included) with zlib levels 0, 1, 4 and 9, in float64 (a
run) and float32 (a sweep chunk), timing each write; and pipes the same raw bytes (the data variables as stored,
time first) through `gzip -1`. Prints MB/s of raw data per second of writing and the size on disk.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hydro.results import to_cf, write_results
from hydro.runner import run_scenario
from hydro.scenario import load_scenario


def main(argv: list[str]) -> None:
    members = int(argv[0]) if argv else 200
    scenario = load_scenario("runs/ensemble.toml", [("hydrology.members", members)])
    ds = run_scenario(scenario)
    cf = to_cf(ds)
    for float32 in (False, True):
        raw = b"".join(np.ascontiguousarray(cf[v].values.astype(np.float32 if float32 else np.float64)).tobytes()
                       for v in cf.data_vars if "time" in cf[v].dims and "node" in cf[v].dims)
        mb = len(raw) / 1e6
        kind = "float32 (sweep chunk)" if float32 else "float64 (run)"
        print(f"{members} members x {scenario.axis.months} months, {kind}: {mb:,.0f} MB of volumes")
        t0 = time.perf_counter()
        out = subprocess.run(["gzip", "-1", "-c"], input=raw, capture_output=True, check=True).stdout
        dt = time.perf_counter() - t0
        print(f"  gzip -1 (pipe):     {mb / dt:7.1f} MB/s, {len(out) / 1e6:8.1f} MB ({len(out) / len(raw):.0%})")
        for level in (0, 1, 4, 9):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "results.nc"
                t0 = time.perf_counter()
                write_results(ds, path, complevel=level, float32=float32)
                dt = time.perf_counter() - t0
                size = path.stat().st_size
            print(f"  netCDF zlib {level}:      {mb / dt:7.1f} MB/s, {size / 1e6:8.1f} MB ({size / len(raw):.0%})")


if __name__ == "__main__":
    main(sys.argv[1:])
