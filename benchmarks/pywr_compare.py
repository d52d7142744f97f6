"""Allocation and throughput against pywr, an outside yardstick (not part of the test suite).

    .venv/bin/python benchmarks/pywr_compare.py [--members 1 100 1000] [--years 30] [--repeat 3] [--solver glpk] [--keep DIR]

pywr (https://github.com/pywr/pywr) is GPL-3. It is only a yardstick: it lives in its own virtual environment,
``benchmarks/.venv-pywr`` (created here on first use, ``pip install pywr``), and runs in a separate process
(``benchmarks/_pywr_model.py``, executed by that venv's python). Neither the package nor the tests import it, and
none of its code is copied here.

What is compared. The shipped baseline (``runs/mean_year.toml``: rule upstream_first, Qosh Tepa 6 km3/yr) as a
stochastic ensemble of M members x Y years is prepared and simulated with ``hydro``. Then everything pywr needs is
exported to a temporary folder (``meta.json`` and ``.npy``, hm3 per calendar month): node names, kinds and
downstream links in topological order, reach loss fractions, the natural inflow of every inflow node and member,
each offtake's monthly request (min(demand, capacity x days)), and two series taken from *our* run as fixed
inputs, so that allocation is compared and not reservoir policies:

- every enabled reservoir is replaced in pywr by a sink that takes what arrives and a fixed-release source
  whose flow is our simulated outflow (release + spill) for that month and member;
- return flows are fixed extra inflows at their destination node, equal to our simulated return flows.

pywr then allocates with a linear programme per month and member: offtakes are Outputs with max_flow = request
and costs that give strict upstream priority (more negative upstream, by topological order), terminals and the
reservoir sinks are Outputs with cost 0, reaches with a loss are LossLinks (share of the gross flow). With
upstream_first, the LP optimum is our sequential result, so pywr's withdrawals must equal ours month by month
(target: 1e-6). pywr flows are per day: monthly volumes are divided by the days of their month and multiplied
back. The comparison needs the rule upstream_first with its default options and no protected flow (min_flow) on
any reach; the script refuses anything else.

Throughput, in member-months per second, best of ``--repeat`` runs: ours ``simulate(...)`` alone, keeping what pywr
records (the withdrawals at the offtakes) with its monthly mass-balance check, on one thread and on every core;
pywr ``model.run()`` alone (after the model is built and set up), on one core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hydro.allocation import make_rule
from hydro.runner import prepare
from hydro.scenario import load_scenario
from hydro.simulate import simulate

HERE = Path(__file__).resolve().parent
RUN_FILE = HERE.parent / "runs" / "mean_year.toml"
VENV = HERE / ".venv-pywr"
PYWR = "pywr==1.31.1"  # the newest on PyPI; a manylinux wheel for CPython 3.11; pins pandas < 3 itself
MODEL_SCRIPT = HERE / "_pywr_model.py"
TOLERANCE = 1e-6  # hm3 per month
FLOOR = 1e-6  # hm3: entries smaller than this on both sides are left out of the relative difference


def venv_python() -> Path:
    return VENV / "bin" / "python"


def pywr_version() -> str | None:
    py = venv_python()
    if not py.exists():
        return None
    r = subprocess.run([str(py), "-c", "import pywr; print(pywr.__version__)"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_pywr() -> tuple[str, float | None]:
    """pywr's version in benchmarks/.venv-pywr, creating the venv and installing pywr if needed; and the seconds
    the creation and install took (None when it was already there). Exits with a message if pip fails."""
    version = pywr_version()
    if version:
        return version, None
    t0 = time.perf_counter()
    if not venv_python().exists():
        print(f"creating {VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print(f"pip install {PYWR} into {VENV} ...", flush=True)
    r = subprocess.run([str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", PYWR],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit(f"pip could not install {PYWR} into {VENV} (no wheel for this machine, and building one "
                         "failed): no comparison possible; stopping.")
    version = pywr_version()
    if not version:
        raise SystemExit(f"{PYWR} installed into {VENV} but does not import; stopping.")
    return version, time.perf_counter() - t0


def scenario_for(members: int, years: int):
    scenario = load_scenario(RUN_FILE, [("hydrology.kind", "stochastic"), ("hydrology.members", members), ("time.years", years)])
    problems = []
    if scenario.rule != "upstream_first":
        problems.append(f"rule is {scenario.rule!r}; the pywr model encodes upstream_first only")
    options = dict(scenario.allocation)
    if options.get("afghanistan", "outside") != "outside" or options.get("environment_first", False):
        problems.append(f"[allocation] {options}: the pywr model encodes upstream_first with its default options only")
    if problems:
        raise SystemExit(f"{RUN_FILE}: " + "; ".join(problems))
    return scenario


def our_run(scenario, repeat: int, threads: list[int]):
    """Prepare, run once keeping everything (for the export), then time simulate(...) alone keeping what pywr
    records (withdrawals at the offtakes), best of `repeat`, on each number of `threads`; returns (inputs,
    outputs, {threads: best seconds})."""
    import numba

    inputs = prepare(scenario)
    net = inputs.network
    out = simulate(inputs.network, inputs.inflows, inputs.demands, scenario.axis, make_rule(scenario.rule, str(scenario.path), scenario.allocation))
    best = {}
    for n in threads:
        numba.set_num_threads(n)
        best[n] = float("inf")
        for _ in range(repeat):
            rule = make_rule(scenario.rule, str(scenario.path), scenario.allocation)
            t0 = time.perf_counter()
            kept = simulate(net, inputs.inflows, inputs.demands, scenario.axis, rule, keep=("withdrawal",), nodes=net.offtake_idx)
            best[n] = min(best[n], time.perf_counter() - t0)
        assert np.array_equal(kept["withdrawal"], out["withdrawal"][:, :, net.offtake_idx])
    return inputs, out, best


def export(folder: Path, scenario, inputs, out) -> None:
    """Write what _pywr_model.py needs: meta.json and .npy arrays (hm3 per calendar month)."""
    net, axis = inputs.network, scenario.axis
    if np.any(np.asarray(net.min_flow) > 0):
        raise SystemExit("a reach has a protected flow (min_flow); the pywr model does not encode it")
    kinds = ["junction"] * net.n  # a reservoir switched off is compiled as a junction, and stays one here
    for label, idx in (("inflow", net.inflow_idx), ("offtake", net.offtake_idx), ("reservoir", net.reservoir_idx),
                       ("terminal", net.terminal_idx)):
        for i in idx:
            kinds[int(i)] = label
    days = axis.days
    request = np.minimum(inputs.demands.offtake, inputs.demands.capacity[None, :] * days[:, None])  # (T, K)
    # our outflow of each reservoir (release + spill) and our return flows, summed by destination node
    outflow = out["flow"][:, :, net.reservoir_idx]
    destinations = sorted({int(j) for j in net.offtake_return_to if j >= 0})
    returns = np.zeros(out["flow"].shape[:2] + (len(destinations),))
    for k, i in enumerate(net.offtake_idx):
        j = int(net.offtake_return_to[k])
        if j >= 0:
            returns[:, :, destinations.index(j)] += out["return_flow"][:, :, int(i)]
    meta = {
        "start": str(axis.start), "months": int(axis.months), "days": [float(d) for d in days],
        "members": int(inputs.inflows.shape[0]),
        "names": list(net.names), "kinds": kinds, "downstream": [int(j) for j in net.downstream],
        "loss_fraction": [float(x) for x in net.loss_fraction],
        "inflow_nodes": [net.names[int(i)] for i in net.inflow_idx],
        "offtake_nodes": [net.names[int(i)] for i in net.offtake_idx],
        "reservoir_nodes": [net.names[int(i)] for i in net.reservoir_idx],
        "return_destinations": [net.names[j] for j in destinations],
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    np.save(folder / "inflow.npy", np.asarray(inputs.inflows, dtype=float))
    np.save(folder / "request.npy", request)
    np.save(folder / "reservoir_outflow.npy", outflow)
    np.save(folder / "return_inflow.npy", returns)


def run_pywr(folder: Path, repeat: int, solver: str) -> dict:
    r = subprocess.run([str(venv_python()), str(MODEL_SCRIPT), str(folder), "--repeat", str(repeat), "--solver", solver],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit(f"{MODEL_SCRIPT.name} failed (exit {r.returncode})")
    info = json.loads((folder / "pywr_run.json").read_text())
    info["withdrawal"] = np.load(folder / "pywr_withdrawal.npy")
    return info


def compare(ours: np.ndarray, theirs: np.ndarray, request: np.ndarray, offtakes: list[str]) -> dict:
    """Differences between two (members, months, offtakes) withdrawal arrays in hm3 per month."""
    diff = np.abs(ours - theirs)
    scale = np.maximum(np.abs(ours), np.abs(theirs))
    rel = np.where(scale > FLOOR, diff / np.where(scale > FLOOR, scale, 1.0), 0.0)
    m, t, k = np.unravel_index(int(np.argmax(diff)), diff.shape)
    short = ours < request[None] - 1e-9  # entries where our offtake got less than it asked for
    return {
        "max_abs": float(diff.max()), "max_rel": float(rel.max()), "over": int((diff > TOLERANCE).sum()),
        "entries": int(diff.size), "short": int(short.sum()), "where": (offtakes[k], int(m), int(t)),
        "short_offtakes": sorted({offtakes[j] for j in np.flatnonzero(short.any(axis=(0, 1)))}),
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, nargs="+", default=[1, 100, 1000])
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--solver", default="glpk", help="pywr's LP solver: glpk (its default), glpk-edge, lpsolve")
    ap.add_argument("--keep", type=Path, help="write the exports into DIR/members_M instead of a temporary folder")
    args = ap.parse_args(argv)
    import numba

    threads = sorted({1, numba.config.NUMBA_NUM_THREADS})  # one core, as pywr, and every core

    version, install = ensure_pywr()
    print(f"pywr {version} in {VENV}" + (f" (venv created and pywr installed in {install:.0f} s)" if install else ""))
    print(f"{RUN_FILE.name}: stochastic, {args.years} years; best of {args.repeat}; tolerance {TOLERANCE:g} hm3/month\n",
          flush=True)

    rows = []
    for members in args.members:
        scenario = scenario_for(members, args.years)
        inputs, out, ours = our_run(scenario, args.repeat, threads)
        ours_s = ours[1]
        net = inputs.network
        with tempfile.TemporaryDirectory(prefix="pywr_compare_") as tmp:
            folder = Path(tmp) if args.keep is None else args.keep / f"members_{members}"
            folder.mkdir(parents=True, exist_ok=True)
            export(folder, scenario, inputs, out)
            request = np.load(folder / "request.npy")
            info = run_pywr(folder, args.repeat, args.solver)
        ours_w = out["withdrawal"][:, :, net.offtake_idx]
        c = compare(ours_w, info["withdrawal"], request, [net.names[int(i)] for i in net.offtake_idx])
        mm = members * scenario.axis.months
        pywr_s = min(info["run_seconds"])
        rows.append((members, mm, ours, pywr_s, c))
        print(f"{members:5d} members: ours {ours_s:8.3f} s on one core, pywr {pywr_s:8.3f} s (model built and set up in "
              f"{info['load_seconds']:.1f} s, {info['nodes']} pywr nodes, solver {info['solver']}); "
              f"max |diff| {c['max_abs']:.3g} hm3 at {c['where'][0]} member {c['where'][1]} month {c['where'][2]}, "
              f"max rel {c['max_rel']:.3g}; {c['over']} of {c['entries']} entries above {TOLERANCE:g}; "
              f"{c['short']} entries short of their request ({', '.join(c['short_offtakes']) or 'none'})", flush=True)

    head = " | ".join(f"ours, {n} thread{'s' if n > 1 else ''}: member-months/s | x pywr" for n in threads)
    print(f"\n| members | member-months | {head} | pywr member-months/s (1 core) | max abs diff (hm3) | max rel diff |")
    print("|---:|---:|" + "---:|---:|" * len(threads) + "---:|---:|---:|")
    for members, mm, ours, pywr_s, c in rows:
        cells = " | ".join(f"{mm / ours[n]:,.0f} | {pywr_s / ours[n]:,.0f}" for n in threads)
        print(f"| {members} | {mm:,} | {cells} | {mm / pywr_s:,.0f} | {c['max_abs']:.2e} | {c['max_rel']:.2e} |")
    bad = [r for r in rows if r[4]["max_abs"] > TOLERANCE]
    print("\nagreement: " + ("all withdrawals within " + f"{TOLERANCE:g} hm3/month" if not bad
                             else f"DISAGREEMENT above {TOLERANCE:g} hm3/month for members {[r[0] for r in bad]}"))
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
