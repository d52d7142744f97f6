"""Time to validate and compile a generated chain basin of 1,000, 2,000 and 10,000 nodes (not part of the tests).

    .venv/bin/python benchmarks/validate_scaling.py [--nodes 1000 2000 10000]

The chain is inflow -> junction ... junction -> offtake -> terminal, every figure sourced to a test source "T";
the numbers are placeholders for timing, not basin figures. Prints seconds for load_basin (TOML parse + checks)
and compile_network per size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import pairwise
from pathlib import Path

SOURCES = 'format_version = 1\n[sources.T]\ntitle = "generated chain"\nurl = "benchmarks"\nconfidence = "U"\n'


def chain_basin(folder: Path, n: int) -> Path:
    """Write a basin folder with `n` nodes in one chain: 1 inflow, n - 3 junctions, 1 offtake, 1 terminal."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ["src", *[f"j{i}" for i in range(n - 3)], "farm", "sea"]
    parts = ["format_version = 1\n",
             '[[node]]\nname = "src"\nkind = "inflow"\nregime = "uniform"\nannual_flow = { value = "1 km3/yr", source = "T" }\n']
    parts += [f'[[node]]\nname = "{name}"\nkind = "junction"\n' for name in names[1:-2]]
    parts.append('[[node]]\nname = "farm"\nkind = "offtake"\nstate = "UZB"\n'
                 'demand = { value = "0.5 km3/yr", source = "T" }\ngrowing_share = { value = 0.7, source = "T" }\n')
    parts.append('[[node]]\nname = "sea"\nkind = "terminal"\n')
    parts += [f'[[reach]]\nfrom = "{a}"\nto = "{b}"\n' for a, b in pairwise(names)]
    (folder / "basin.toml").write_text("".join(parts), encoding="utf-8")
    (folder / "sources.toml").write_text(SOURCES, encoding="utf-8")
    return folder


def main() -> None:
    from hydro.basin import load_basin
    from hydro.network import compile_network

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[1000, 2000, 10000])
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.nodes:
            folder = chain_basin(Path(tmp) / f"chain{n}", n)
            t0 = time.perf_counter()
            basin = load_basin(folder)
            t1 = time.perf_counter()
            compile_network(basin)
            t2 = time.perf_counter()
            print(f"{n:>6} nodes: validate {t1 - t0:6.2f} s, compile {t2 - t1:6.2f} s, total {t2 - t0:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
