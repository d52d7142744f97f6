"""Command line: ``hydro run RUN [--set KEY=VALUE ...] [--out DIR]`` and ``hydro validate BASIN``.

Errors of our own (bad basin, bad run file, mass balance) are printed on stderr and exit with code 2;
``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import hydro
from hydro.errors import HydroError


EXIT_OK, EXIT_INPUT, EXIT_INTERNAL, EXIT_USAGE = 0, 2, 3, 64  # and 130 / 143 when interrupted or terminated
EXIT_CODES = """exit codes:
  0    done
  2    input error: a run, basin or results file, an output folder, memory or disk (one line per problem)
  3    internal error: a bug (rerun with --debug for the traceback)
  64   usage error: the command line itself (unknown option, missing argument)
  130  interrupted (Ctrl-C); 143 terminated"""

log = logging.getLogger("hydro")  # what a command prints (stdout): -q hides it, -v adds timings
progress_log = logging.getLogger("hydro.progress")  # progress lines (stderr)


def say(*parts) -> None:
    """Print a line of a command's output through logging (so that -q and -v apply)."""
    log.info(" ".join(str(p) for p in parts))


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on their own exit code (EXIT_USAGE) instead of 2, which input errors have."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: usage error: {message}\n")


EXAMPLES = {
    "run": ["hydro run runs/baseline.toml", "hydro run runs/mean_year.toml --set qosh_tepa.withdrawal_km3=10",
            "hydro run runs/ensemble.toml --detail summary --out out/ens"],
    "compare": ["hydro compare runs/rules_compare.toml", "hydro compare runs/rules_compare.toml --rules upstream_first,icwc_quota --qosh-tepa 0,6,12",
                "hydro compare runs/rules_compare.toml --rules icwc_quota --policy nurek=curve,schedule,energy"],
    "sweep": ["hydro sweep runs/qosh_tepa_sweep.toml", "hydro sweep runs/mean_year.toml --vary qosh_tepa.withdrawal_km3=0:12:2 --vary rule=upstream_first,icwc_quota",
              "hydro sweep runs/nurek_policy.toml  # also writes tradeoff.png"],
    "report": ["hydro report out/baseline", "hydro report out/qosh_tepa_sweep --sel rule=icwc_quota", "hydro report out/baseline --hindcast out/hindcast",
               "hydro report out/negotiate_negotiate --timeline out/timeline_timeline"],
    "chart": ["hydro chart out/baseline/results.nc --kind heatmap --out heatmap.svg", "hydro chart out/qosh_tepa_sweep --kind withdrawal --sel rule=icwc_quota",
              "hydro chart out/nurek_policy --kind tradeoff"],
    "leverage": ["hydro leverage out/qosh_tepa_sweep --withdrawal 6", "hydro leverage out/baseline"],
    "check": ["hydro check out/baseline/results.nc"],
    "rerun": ["hydro rerun out/baseline/results.nc"],
    "validate": ["hydro validate basins/amu_darya", "hydro validate runs/baseline.toml"],
    "hindcast": ["hydro hindcast", "hydro hindcast --validate 2023,2024 --observed-demand"],
    "sensitivity": ["hydro sensitivity runs/mean_year.toml"],
    "timeline": ["hydro timeline runs/timeline.toml", "hydro timeline runs/timeline.toml --set 'qosh_tepa.build_out=[[\"2026-04\", 0.0], [\"2027-10\", 1.0]]'"],
    "negotiate": ["hydro negotiate runs/negotiate.toml", "hydro negotiate runs/negotiate.toml --agreements my_agreements.toml --agreements-only", "hydro negotiate runs/negotiate.toml --set negotiate.generations=20 --out out/negotiate_long"],
    "attribute": ["hydro attribute runs/rogun_and_qosh_tepa.toml", "hydro attribute runs/rogun_filling.toml --set reservoirs.rogun.filling.limit_share=0.2"],
    "uncertainty": ["hydro uncertainty runs/mean_year.toml --samples 200"],
    "calibrate": ["hydro calibrate --cost-run runs/mean_year.toml", "hydro calibrate --install"],
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # accepted before and after the subcommand
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="also print timings and details")
    p = _Parser(prog="hydro", description="Amu Darya water-allocation model (Qosh Tepa scenarios).", parents=[common],
                epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"amu-hydro {hydro.__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add = sub.add_parser

    def add_parser(name, **kwargs):
        examples = "\n".join(f"  {line}" for line in EXAMPLES.get(name, []))
        return _add(name, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog=(f"examples:\n{examples}\n\n" if examples else "") + EXIT_CODES, **kwargs)

    sub.add_parser = add_parser

    run = sub.add_parser("run", help="simulate a run file; write results.nc, summary.csv, offtakes.csv and shortfall.png")
    run.add_argument("run_file", type=Path)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a run-file key, e.g. --set qosh_tepa.withdrawal_km3=8 (repeatable)")
    run.add_argument("--out", default=None, help="output folder (default: out/<run file name><+overrides>)")
    run.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                     help="xlsx: the summary tables also as one Excel workbook, summary.xlsx (a sheet per table)")
    run.add_argument("--detail", choices=("full", "summary"), default="full",
                     help="full: every variable at every node (float64); summary: demand, withdrawal, shortfall, flow, inflow, "
                          "storage and requirement at offtakes, reservoirs, terminals and Kerki, float32 (for very large runs)")

    cmp_ = sub.add_parser("compare", help="run the same scenario under several rules; write compare.nc, compare.csv, compare.png")
    cmp_.add_argument("run_file", type=Path)
    cmp_.add_argument("--rules", default=None, help="comma-separated rule names (default: the run file's compare.rules)")
    cmp_.add_argument("--qosh-tepa", dest="qosh_tepa", default=None,
                      help="comma-separated Qosh Tepa targets in km3/yr (default: compare.qosh_tepa_km3, else the run's own)")
    cmp_.add_argument("--policy", default=None, metavar="RESERVOIR=P1,P2",
                      help="also compare a reservoir's operating policies, e.g. nurek=curve,schedule,energy")
    cmp_.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    cmp_.add_argument("--out", default=None, help="output folder (default: out/<run file name><+overrides>)")
    cmp_.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="xlsx: compare.csv also as an Excel workbook, compare.xlsx")

    swp = sub.add_parser("sweep", help="run a grid of scenarios on dask, resumably; write DIR/chunks/*.nc and DIR/sweep.csv")
    swp.add_argument("run_file", type=Path)
    swp.add_argument("--vary", action="append", default=[], metavar="KEY=SPEC",
                     help="a run-file key and its values: a list (0,2,4) or a range (0:12:1, stop included); repeatable "
                          "(default: the run file's sweep.vary)")
    swp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    swp.add_argument("--out", default=None, help="sweep folder (default: out/<run file name>)")
    where = swp.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a dask.distributed scheduler (default: local processes)")
    where.add_argument("--scheduler-file", dest="scheduler_file", default=None, metavar="FILE",
                       help="the JSON file a dask scheduler wrote (dask scheduler --scheduler-file FILE; dask-jobqueue clusters)")
    swp.add_argument("--scheduler-timeout", dest="scheduler_timeout", type=float, default=60.0, metavar="SECONDS",
                     help="give up when the scheduler has no worker after this long (default 60)")
    swp.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core; 0: no dask)")
    swp.add_argument("--detail", choices=("summary", "full"), default="summary",
                     help="summary: demand, withdrawal, shortfall, flow, storage at offtakes, reservoirs, terminals and Kerki, float32; full: everything")
    swp.add_argument("--fresh", action="store_true", help="discard the chunks of a different earlier sweep in --out")

    rep = sub.add_parser("report", help="write a self-contained HTML report of a results folder")
    rep.add_argument("folder", type=Path)
    rep.add_argument("--out", default=None, help="the HTML file (default: FOLDER/report.html)")
    rep.add_argument("--hindcast", type=Path, default=None, help="add the skill of a hindcast folder (hydro hindcast --out DIR)")
    rep.add_argument("--timeline", type=Path, default=None, help="add the years of a timeline folder (hydro timeline --out DIR)")
    rep.add_argument("--sel", action="append", default=[], metavar="KEY=VALUE",
                     help="fix one key of a sweep (its full or last name), e.g. --sel rule=icwc_quota (repeatable)")
    rep.add_argument("--pdf", action="store_true", help="also print the report to PDF beside it (headless Chromium)")

    cha = sub.add_parser("chart", help="draw one chart of a results file (PNG or SVG by the --out suffix)")
    cha.add_argument("results", type=Path, help="a results.nc, or a sweep folder for --kind withdrawal")
    cha.add_argument("--kind", required=True, choices=CHART_KINDS)
    cha.add_argument("--out", default=None, help="output file (default: <kind>.png beside the results)")
    cha.add_argument("--sel", action="append", default=[], metavar="KEY=VALUE",
                     help="pick one value of a sweep's or compare.nc's dimension, e.g. --sel rule=icwc_quota --sel qosh_tepa_km3=6 (repeatable)")

    lev = sub.add_parser("leverage", help="leverage scores per state from a sweep or a run folder; write leverage.csv and leverage.png")
    lev.add_argument("folder", type=Path, help="a sweep folder varying qosh_tepa.withdrawal_km3 (level 0 included), or a run folder")
    lev.add_argument("--data", type=Path, default=None, help="the leverage indicators (default: the basin's leverage.toml, as stored in the results)")
    lev.add_argument("--withdrawal", type=float, default=6.0, help="Qosh Tepa level of the main table, km3/yr (sweeps)")
    lev.add_argument("--rule", default=None, help="the rule to use when the sweep varies rules (default: the first)")
    lev.add_argument("--samples", type=int, default=2000, help="samples of the sensitivity analysis")
    lev.add_argument("--seed", type=int, default=0)
    lev.add_argument("--out", default=None, help="output folder (default: the results folder)")
    lev.add_argument("--sel", action="append", default=[], metavar="KEY=VALUE",
                     help="fix a key of a sweep other than the Qosh Tepa level, e.g. --sel hydrology.scale=0.84 (repeatable)")

    chk = sub.add_parser("check", help="check a saved results file: version, NaN, negatives, mass balance per node and month")
    chk.add_argument("results", type=Path)

    rer = sub.add_parser("rerun", help="re-run the scenario a results file came from and compare its data")
    rer.add_argument("results", type=Path)
    rer.add_argument("--out", default=None, help="also write the new results into this folder")

    hin = sub.add_parser("hindcast", help="replay the recorded years; write hindcast.csv (published against simulated) and hindcast.png")
    hin.add_argument("run_file", type=Path, nargs="?", default=Path("runs/hindcast.toml"),
                     help="the run file whose basin, rule and options are replayed (default: runs/hindcast.toml)")
    hin.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    hin.add_argument("--validate", default=None, help="comma-separated years held out for validation (default: the run file's hindcast.validate)")
    hin.add_argument("--observed-demand", dest="observed_demand", action="store_true", default=None,
                     help="set each state's demand to its recorded use where a year publishes it (default: the run file's hindcast.observed_demand)")
    hin.add_argument("--out", default=None, help="output folder (default: out/hindcast)")

    neg = sub.add_parser("negotiate", help="which Qosh Tepa agreements work: admissible caps per rule and threshold, the Pareto set of caps and seasons")
    neg.add_argument("run_file", type=Path)
    neg.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    neg.add_argument("--out", default=None, help="output folder (default: out/<run file name>_negotiate<+overrides>)")
    neg.add_argument("--agreements", type=Path, default=None, metavar="FILE",
                     help="a TOML file of named agreements ([agreements] name = [\"KEY=VALUE\", ...]) judged beside the run file's")
    neg.add_argument("--agreements-only", action="store_true",
                     help="judge the named agreements, no agreement and the status quo only: no admissible caps, no search")

    tl = sub.add_parser("timeline", help="shortfall and leverage year by year as Qosh Tepa is built out, the climate shifts and Rogun fills")
    tl.add_argument("run_file", type=Path)
    tl.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    tl.add_argument("--out", default=None, help="output folder (default: out/<run file name>_timeline<+overrides>)")

    att = sub.add_parser("attribute", help="compound scenarios: run every combination of the run file's projects on and off; write attribution.csv")
    att.add_argument("run_file", type=Path)
    att.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    att.add_argument("--out", default=None, help="output folder (default: out/<run file name>_attribution)")

    sen = sub.add_parser("sensitivity", help="Qosh Tepa's cost to UZB + TKM at each end of every ranged basin figure; write sensitivity.csv and sensitivity.png")
    sen.add_argument("run_file", type=Path)
    sen.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    sen.add_argument("--out", default=None, help="output folder (default: out/<run file name>_sensitivity)")

    unc = sub.add_parser("uncertainty", help="Qosh Tepa's cost to UZB + TKM over parameter sets drawn from the basin's ranges; write uncertainty.csv")
    unc.add_argument("run_file", type=Path)
    unc.add_argument("--samples", type=int, default=100, help="parameter sets (Latin hypercube, default 100)")
    unc.add_argument("--seed", type=int, default=0)
    unc.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    unc.add_argument("--out", default=None, help="output folder (default: out/<run file name>_uncertainty)")

    cal = sub.add_parser("calibrate", help="fit the basin's ranged figures to the recorded years; write the sets, the best one and its hindcast")
    cal.add_argument("run_file", type=Path, nargs="?", default=Path("runs/hindcast.toml"),
                     help="the hindcast run file (default: runs/hindcast.toml)")
    cal.add_argument("--samples", type=int, default=300, help="parameter sets drawn by Latin hypercube (default 300)")
    cal.add_argument("--tolerance", type=float, default=0.15, help="a set is behavioural when every calibration figure is within this relative error (default 0.15)")
    cal.add_argument("--refine", type=int, default=60, help="evaluations of the local search from the best set (default 60; 0: none)")
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--cost-run", dest="cost_run", type=Path, default=None,
                     help="also give Qosh Tepa's cost in this run file for every behavioural set (e.g. runs/mean_year.toml)")
    cal.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a run-file key (repeatable)")
    cal.add_argument("--out", default=None, help="output folder (default: out/calibrate)")
    cal.add_argument("--install", action="store_true",
                     help="also write the behavioural Latin-hypercube sets into the basin's parameter_sets file, which runs with "
                          "uncertainty.parameter_sets = N cross with their members")

    val = sub.add_parser("validate", help="check a basin folder (or a run file and its basin) without running")
    val.add_argument("path", type=Path)
    return p


def _configure_logging(args) -> None:
    """Command output to stdout and progress to stderr, message only; -q: errors only, -v: debug lines too."""
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    for logger, stream in ((log, sys.stdout), (progress_log, sys.stderr)):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        import argcomplete  # shell completion: eval "$(register-python-argcomplete hydro)"

        argcomplete.autocomplete(parser)
    except ImportError:  # pragma: no cover - a dependency, but completion is not worth failing for
        pass
    args = parser.parse_args(argv)
    for flag in ("debug", "quiet", "verbose"):
        setattr(args, flag, bool(getattr(args, flag, False)))
    if args.quiet and args.verbose:
        parser.error("-q and -v together: choose one")
    args.argv = argv
    _configure_logging(args)
    from hydro.progress import QUIET

    QUIET["on"] = args.quiet
    started = time.perf_counter()
    code = _main(args)
    log.debug(f"hydro {args.command}: exit {code} after {time.perf_counter() - started:.2f} s (amu-hydro {hydro.__version__}, python {sys.version.split()[0]})")
    return code


def _main(args) -> int:
    handler = {"run": _run, "compare": _compare, "sweep": _sweep, "report": _report, "leverage": _leverage,
               "check": _check, "rerun": _rerun, "chart": _chart, "validate": _validate, "hindcast": _hindcast,
               "sensitivity": _sensitivity, "uncertainty": _uncertainty, "calibrate": _calibrate, "attribute": _attribute,
               "negotiate": _negotiate, "timeline": _timeline}[args.command]
    if args.debug:
        return handler(args)
    previous = _on_signals(args)
    try:
        return handler(args)
    except KeyboardInterrupt:
        return _fail(args, f"interrupted; {_interrupt_hint(args)}", 130)
    except HydroError as err:
        from hydro.errors import ProblemsError

        lines = [str(p) for p in err.problems] if isinstance(err, ProblemsError) else [str(err)]
        return _fail(args, lines, EXIT_INPUT)  # one line per problem: file, key path, found, expected
    except MemoryError:
        return _fail(args, "out of memory: the run does not fit in this machine's memory (fewer members or years, "
                           "or a sweep over hydrology.seed); nothing was written", EXIT_INPUT)
    except OSError as err:
        import errno

        where = f"{err.filename}: " if err.filename else ""
        cause = err.strerror or str(err) or type(err).__name__
        if err.errno in (errno.ENOSPC, errno.EIO):
            cause += "; nothing was written (free some space and rerun)" if err.errno == errno.ENOSPC else "; nothing was written"
        return _fail(args, f"{where}{cause}", EXIT_INPUT)
    except RecursionError:
        return _fail(args, "an input is nested too deeply to read (a TOML or JSON file with thousands of levels)", EXIT_INPUT)
    except Exception as err:  # noqa: BLE001 - the last boundary: a bug gets one line, not a traceback
        text = str(err).strip().splitlines()
        return _fail(args, f"internal error {type(err).__name__}: {text[0] if text else ''} "
                           "(rerun with --debug for the traceback and report it)", EXIT_INTERNAL)
    finally:
        import signal

        for sig, old in previous.items():
            signal.signal(sig, old)


def _interrupt_hint(args) -> str:
    return "finished chunks are kept: rerun the same command to resume" if args.command == "sweep" else "nothing was written"


def _on_signals(args) -> dict:
    """Ctrl-C (SIGINT) and SIGTERM end the command at once, from the signal handler: staged files and folders this
    process created are removed, child processes (dask workers) stopped, one line printed, exit 130 (143 for
    SIGTERM). Unwinding the stack instead could stop inside a netCDF write holding xarray's HDF5 lock, and the
    clean-up would then wait for it forever. Returns the previous handlers (main restores them)."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, frame):
        from hydro.results import abandon

        abandon()
        try:
            import psutil  # a dask dependency

            for child in psutil.Process().children(recursive=True):
                if not any("resource_tracker" in part for part in child.cmdline()):
                    child.terminate()
        except Exception:  # noqa: BLE001 - best effort: workers also stop when their scheduler goes
            pass
        name = "interrupted" if signum == signal.SIGINT else "terminated"
        os.write(2, f"\nhydro {args.command}: {name}; {_interrupt_hint(args)}\n".encode())
        os._exit(130 if signum == signal.SIGINT else 143)

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def _fail(args, lines, code: int) -> int:
    for line in [lines] if isinstance(lines, str) else lines:
        print(f"hydro {args.command}: error: {line}", file=sys.stderr)
    return code


def command_line(args) -> str:
    """The command as typed, for the outputs' manifest."""
    return " ".join(["hydro", *getattr(args, "argv", [])])


def _out_folder(args, scenario, default: str | None = None) -> Path:
    """The output folder of a command on a run file: --out, else out/<default, or the run file's name>, followed by
    its --set overrides (so that runs with different overrides never share a folder); checked (:func:`check_out`)."""
    if args.out is not None:
        return check_out(args.out, inputs=[scenario.basin_path])
    return check_out(Path("out") / ((default or scenario.name) + override_suffix(getattr(scenario, "overrides", []))), inputs=[scenario.basin_path])


def override_suffix(overrides) -> str:
    """'+key=value' per --set override (the key's last part; characters a folder name should not hold become '_'),
    e.g. [("hydrology.scale", 0.84)] -> '+scale=0.84'; shortened with a hash past 100 characters."""
    import hashlib
    import re

    text = "".join(f"+{str(k).split('.')[-1]}={v}" for k, v in overrides)
    text = re.sub(r"[^A-Za-z0-9._=+-]", "_", text)
    if len(text) > 100:
        text = text[:80] + "+" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return text


def check_out(out, inputs=(), outputs: tuple[str, ...] = ()) -> Path:
    """The output folder `out` after checks: not empty, not an existing file, not an input folder (or inside
    one), and writing `outputs` there must not replace an input file. ScenarioError otherwise."""
    import os

    from hydro.errors import Problem, ScenarioError

    if out is None or str(out).strip() == "":
        raise ScenarioError([Problem("<command line>", "--out", "<empty>", "an output folder, e.g. --out out/qt10")])
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError([Problem("<command line>", "--out", str(out), "a folder (this is an existing file)")])
    target = Path(os.path.abspath(out))
    for item in inputs:
        if item is None:
            continue
        src = Path(os.path.abspath(item))
        if src.is_dir() and (target == src or src in target.parents):
            raise ScenarioError([Problem("<command line>", "--out", str(out), f"a folder outside the input folder {item}")])
        if src.is_file() and src.parent == target and src.name in outputs:
            raise ScenarioError([Problem("<command line>", "--out", str(out), f"a folder where writing would not replace the input {item}")])
    return out


def _run(args) -> int:
    import pandas as pd

    from hydro import charts, metrics
    from hydro.results import atomic_outputs, open_results
    from hydro.runner import write_run
    from hydro.scenario import load_scenario, parse_set

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    out = _out_folder(args, scenario)
    title = f"{scenario.title or scenario.name} (rule {scenario.rule}, Qosh Tepa target {scenario.qosh_tepa.withdrawal_km3:g} km3/yr)"
    if overrides:
        title += " [" + ", ".join(f"{k}={v}" for k, v in overrides) + "]"
    with atomic_outputs(out, command_line(args)) as tmp:
        results = tmp("results.nc")
        streamed = write_run(scenario, results, args.detail)
        ds = open_results(results, lazy=streamed)
        types = [t for t in ("dry", "normal", "wet") if t in set(pd.unique(ds.year_type.values.ravel()))]  # hashing: 2.4M strings
        summaries = metrics.state_summaries(ds, ["all", *(f"{t} years" for t in types)])
        from hydro import energy

        months = energy.monthly(ds)  # read once for the summary's energy columns and energy.csv
        summary = energy.with_energy(summaries["all"], ds, months=months)
        terminals = metrics.terminal_summary(ds)
        offtakes = metrics.offtake_summary(ds)
        summary.round(4).to_csv(tmp("summary.csv"))
        offtakes.round(4).to_csv(tmp("offtakes.csv"))
        charts.save(charts.shortfall_figure(ds, title), tmp("shortfall.png"))
        by_type = {f"{t} ({metrics.member_years(ds, metrics.period_mask(ds, t + ' years'))} yr)": summaries[f"{t} years"].shortfall_pct for t in types}
        head, low = _qosh_tepa_head(scenario, ds, results)
        if head is not None:
            head.round(4).to_csv(tmp("qosh_tepa.csv"))
        power = energy.summary(ds, months)
        if len(power):
            power.round(4).to_csv(tmp("energy.csv"))
        if args.format == "xlsx":
            sheets = {"summary": summary, **{f"{t} years": summaries[f"{t} years"] for t in types}, "offtakes": offtakes, "terminals": terminals,
                      **({"energy": power} if len(power) else {})}
            if head is not None:
                sheets["qosh_tepa_head"] = head
            write_xlsx(tmp("summary.xlsx"), sheets, title)
        ds.close()
    elapsed = time.perf_counter() - started
    say(title)
    if "rule_note" in ds.attrs:
        say(f"NOTE: {ds.attrs['rule_note']}")
    members = (f"{ds.sizes['member']} simulations ({scenario.parameter_sets} parameter sets x {scenario.members} hydrological member"
               f"{'s' if scenario.members > 1 else ''})" if scenario.parameter_sets else f"{ds.sizes['member']} member(s)")
    warm = f" after a {scenario.warmup_months // 12}-year warm-up from {scenario.axis.start} (simulated, left out)" if scenario.warmup_months else ""
    say(f"{ds.sizes['time']} months from {str(ds.time.values[0])[:7]}{warm}, {members}; "
          f"mass balance max residual {ds.attrs['mass_balance_max_rel']:.1e} of throughput")
    say()
    say("Annual mean per state (km3/yr):")
    say(_with_band(summary).to_string())
    from hydro.report import band_note

    say(band_note(ds))
    say()
    if len(types) > 1 or ds.sizes["member"] > 1:
        say("Shortfall by year type, % of demand (member-years counted):")
        say(pd.DataFrame(by_type).round(1).to_string())
        say()
    say("Where, per offtake (km3/yr):")
    say(offtakes.drop(columns="province").round(2).to_string())
    say()
    say(terminals.round(2).to_string())
    say()
    written = ["results.nc", "summary.csv", "offtakes.csv", "shortfall.png"] + (["summary.xlsx"] if args.format == "xlsx" else [])
    if len(power):
        written.append("energy.csv")
        for plant, row in power.iterrows():
            say(f"Hydropower at {plant}: {row.energy_twh:.2f} TWh/yr ({row.energy_winter_twh:.2f} in October-March, {row.energy_summer_twh:.2f} "
                f"in April-September; 5-95 %: {row.energy_twh_p05:.2f}-{row.energy_twh_p95:.2f}), {100 * row.release_apr_sep_share:.0f} % of its "
                f"release in April-September, mean head {row.mean_head_m:.0f} m; table in energy.csv")
        say()
    if head is not None:
        written.append("qosh_tepa.csv")
        share = 100.0 * head.withdrawal_km3.sum() / head.river_at_head_km3.sum()
        import calendar

        say(f"Qosh Tepa takes {share:.1f} % of the river at its head over the year, {head.share_pct.max():.1f} % in its "
              f"highest month ({calendar.month_name[int(head.share_pct.idxmax())]}); monthly table in qosh_tepa.csv")
        for where, (with_qt, without) in low.items():
            say(f"Low flow {where} (monthly mean discharge exceeded in 95 % of member-months): {with_qt:,.0f} m3/s with Qosh Tepa, "
                  f"{without:,.0f} without" + (f" ({100.0 * (with_qt - without) / without:+.1f} %)" if without > 0 else " (none without it either: no relative change)"))
        say()
    say(f"wrote {', '.join(str(out / f) for f in written)} in {elapsed:.1f} s")
    return 0


def _with_band(summary):
    """The central columns of a state summary, with the shortfall's 5-95 % band and its sources when it has width."""
    table = summary[["demand_km3", "withdrawal_km3", "shortfall_km3", "shortfall_pct"]].round(2)
    if (summary.shortfall_km3_p95 - summary.shortfall_km3_p05).abs().max() > 5e-3:
        table["shortfall_5-95%_km3"] = [f"{a:.2f}-{b:.2f}" for a, b in zip(summary.shortfall_km3_p05, summary.shortfall_km3_p95)]
        table["from_parameters_%"] = summary.shortfall_from_parameters_pct.round(0)
    return table


def _qosh_tepa_head(scenario, ds, results):
    """(per calendar month: Qosh Tepa's withdrawal, the river at its head and the share, or None when the run has no
    Qosh Tepa withdrawal; {where: (95 % low flow with, without) in m3/s})."""
    from hydro import metrics
    from hydro.basin import load_basin
    from hydro.results import counterparts

    node = next((n for n, nd in load_basin(scenario.basin_path).nodes.items() if nd.settings.get("qosh_tepa")), None)
    if node is None or scenario.qosh_tepa.withdrawal_km3 <= 0 or node not in ds.node.values or "withdrawal" not in ds or "inflow" not in ds:
        return None, {}
    head = metrics.head_share(ds, node)
    low = {}
    without = counterparts(results, ds).get("without")
    if without is not None and "flow" in ds:
        if node in without.node.values:  # without Qosh Tepa the river below its head is what arrives there
            low["below the Qosh Tepa head"] = (metrics.exceeded_m3s(ds.flow.sel(node=node), ds.days),
                                               metrics.exceeded_m3s(without.inflow.sel(node=node), without.days))
        if "kerki" in ds.node.values and "kerki" in without.node.values:  # a junction: what arrives passes
            low["at Kerki"] = (metrics.exceeded_m3s(ds.flow.sel(node="kerki"), ds.days),
                               metrics.exceeded_m3s(without.inflow.sel(node="kerki"), without.days))
    return head, low


def _compare(args) -> int:
    import pandas as pd

    from hydro import charts
    from hydro.allocation import RULES
    from hydro.comparison import compare, parse_policies
    from hydro.errors import Problem, ScenarioError
    from hydro.results import atomic_outputs, write_results
    from hydro.scenario import load_scenario, parse_set

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    rules = [r.strip() for r in args.rules.split(",") if r.strip()] if args.rules else scenario.compare_rules
    if not rules:
        raise ScenarioError([Problem("<command line>", "--rules", "<missing>", "rule names, e.g. --rules upstream_first,icwc_quota (or compare.rules in the run file)")])
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        from hydro.errors import did_you_mean

        raise ScenarioError([Problem("<command line>", "--rules", r, "an allocation rule: " + did_you_mean(r, RULES)) for r in unknown])
    if args.qosh_tepa:
        try:
            levels = [float(x) for x in args.qosh_tepa.split(",")]
        except ValueError:
            raise ScenarioError([Problem("<command line>", "--qosh-tepa", args.qosh_tepa, "comma-separated numbers in km3/yr, e.g. 0,6")]) from None
    else:
        levels = scenario.compare_qosh_tepa_km3 or None
    policies = parse_policies(args.policy) if args.policy else None
    out = _out_folder(args, scenario)
    ds, table = compare(args.run_file, rules, levels, overrides, policies)
    title = (f"{scenario.title or scenario.name}: shortfall by rule" + (" and policy" if policies else "")
             + (f" (natural inflow x {scenario.scale:g})" if scenario.scale != 1 else ""))
    index = ["rule", "policy", "qosh_tepa_km3"] if policies else ["rule", "qosh_tepa_km3"]
    with atomic_outputs(out, command_line(args)) as tmp:
        write_results(ds, tmp("compare.nc"))
        table.round(4).to_csv(tmp("compare.csv"), index=False)
        if args.format == "xlsx":
            write_xlsx(tmp("compare.xlsx"), {"compare": table.set_index([*index, "period", "state"])}, title)
        # the chart's bars per rule; with policies, per rule and policy, both named in the legend
        drawn = table.assign(rule=table.rule + ", " + table.policy) if policies else table
        charts.save(charts.comparison_figure(drawn, title), tmp("compare.png"))
    elapsed = time.perf_counter() - started
    say(title)
    for period in dict.fromkeys(table.period):
        sel = table[table.period == period]
        pivot = sel.pivot_table(index=index, columns="state", values=["shortfall_km3", "shortfall_pct"], sort=False)
        states = list(dict.fromkeys(sel.state))
        shown = pd.DataFrame({f"{st} {unit}": pivot[(col, st)].round(digits) for st in states
                              for col, unit, digits in (("shortfall_km3", "km3/yr", 2), ("shortfall_pct", "%", 1))})
        say(f"\nShortfall ({period}; km3/yr and % of demand):")
        say(shown.to_string())
        power = sel.dropna(subset=["energy_twh"]) if "energy_twh" in sel.columns else sel.iloc[:0]
        if len(power):
            say(f"Energy of each state's plants ({period}; TWh/yr, winter = October-March):")
            say(power.set_index([*index, "state"])[["energy_winter_twh", "energy_summer_twh", "energy_twh"]].round(2).to_string())
    if "protocol_566" in rules:
        say("\nNOTE: protocol_566 uses UNSOURCED limits (UZB 29.6, TKM 22.0, TJK 9.5 km3; no primary text found).")
    if not (table.period == "dry years").any():
        say("\n(no dry water year in this run: no water year's natural flow at Kerki is exceeded in >= "
              f"{scenario.analysis['dry_exceedance']:.0%} of years; try --set hydrology.kind=stochastic --set hydrology.members=100)")
    say(f"\nwrote {out / 'compare.nc'}, {out / 'compare.csv'}, {out / 'compare.png'} in {elapsed:.1f} s")
    return 0


def _attribute(args) -> int:
    import json

    from hydro.attribution import QUANTITIES, attribute, projects_of
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    projects = projects_of(scenario.doc.get("attribution", {}).get("projects"), str(args.run_file))
    out = _out_folder(args, scenario, scenario.name + "_attribution")
    values, effects, provenance = attribute(args.run_file, overrides, projects)
    with atomic_outputs(out, command_line(args)) as tmp:
        effects.round(4).to_csv(tmp("attribution.csv"), index=False)
        values.round(4).to_csv(tmp("attribution_runs.csv"), index=False)
        with open(tmp("attribution.json"), "w", encoding="utf-8") as fh:
            json.dump(provenance, fh, indent=1)
    say(f"{scenario.title or scenario.name}: each project alone and together ({2 ** len(projects)} runs of "
        f"{scenario.members} member(s) x {scenario.axis.months // 12 - scenario.warmup_months // 12} reported years; "
        f"dry years: exceedance >= {scenario.analysis['dry_exceedance']:.0%} at Kerki)")
    for period, table in effects.groupby("period", sort=False):
        say(f"\n{period} (differences from the run without any project):")
        shown = table.drop(columns="period").set_index("quantity")
        shown.index = [f"{q} ({QUANTITIES[q].split(', ')[-1]})" for q in shown.index]
        say(shown.round(2).to_string())
    say(f"\nwrote {out / 'attribution.csv'}, {out / 'attribution_runs.csv'}, {out / 'attribution.json'} in {time.perf_counter() - started:.1f} s")
    return 0


def _negotiate(args) -> int:
    import json

    import pandas as pd

    from hydro import charts, negotiation
    from hydro.progress import bar
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    options = negotiation.options_of(scenario, str(args.run_file))
    out = _out_folder(args, scenario, scenario.name + "_negotiate")
    evaluator = negotiation.Evaluator(args.run_file, overrides)
    extra = negotiation.load_agreements(args.agreements) if args.agreements is not None else {}
    references = {"no agreement": options.no_agreement, "status quo": [], **options.agreements, **extra}
    negotiation.check_agreements(args.run_file, overrides, references, {name: str(args.agreements) for name in extra})
    reference_rows = {}
    for name, settings in references.items():
        fig = evaluator.measure(settings)
        fig.pop("_members_pct", None)
        reference_rows[name] = {"agreement": name, "settings": "; ".join(f"{k}={v}" for k, v in settings) or "(the run as written)", **fig}
    if args.agreements_only:
        return _agreements_only(args, scenario, out, evaluator, reference_rows, started)
    admissible = negotiation.admissible(evaluator, options.rules, options.thresholds_pct, options.cap_max_km3)
    season = negotiation.least_cost_season(evaluator, options.rules, scenario.qosh_tepa.withdrawal_km3)
    searched_before = evaluator.simulations
    progress = bar(len(options.rules) * options.population * options.generations, "negotiate", "agreement")
    table = negotiation.search(evaluator, options, tick=lambda: progress.update(1))
    progress.close()
    none = reference_rows["no agreement"]
    table["better_than_no_agreement"] = negotiation.better_than(table, none)
    agreements = pd.DataFrame(list(reference_rows.values()))
    agreements["better_than_no_agreement"] = negotiation.better_than(agreements, none)
    front = table[table.pareto].reset_index(drop=True)
    provenance = negotiation.provenance(evaluator, options)
    best = negotiation.compromise(front, options.weights) if len(front) else None
    if best is not None:
        provenance["compromise"] = {"weights": options.weights, "agreement": json.loads(best.to_json())}
    provenance.update({"search_simulations": evaluator.simulations - searched_before, "agreements_searched": len(table),
                       "pareto_size": len(front), "seconds": round(time.perf_counter() - started, 1)})
    nc = negotiation.pareto_dataset(front, f"{scenario.title or scenario.name}: Pareto set of Qosh Tepa agreements", command_line(args), provenance)
    title = (f"{scenario.title or scenario.name}: Qosh Tepa agreements ({scenario.members} members x "
             f"{max(scenario.parameter_sets, 1)} parameter set(s), dry years = Kerki exceedance >= {scenario.analysis['dry_exceedance']:.0%})")
    with atomic_outputs(out, command_line(args)) as tmp:
        admissible.round(4).to_csv(tmp("admissible.csv"), index=False)
        table.round(4).to_csv(tmp("pareto.csv"), index=False)
        agreements.round(4).to_csv(tmp("agreements.csv"), index=False)
        season.round(4).to_csv(tmp("least_cost_season.csv"), index=False)
        nc.to_netcdf(tmp("pareto.nc"))
        with open(tmp("negotiate.json"), "w", encoding="utf-8") as fh:
            json.dump(provenance, fh, indent=1)
        marked = {**reference_rows, **({"best compromise": best.to_dict()} if best is not None else {})}
        charts.save(charts.negotiation_front(table, marked, title), tmp("pareto.png"))
    say(title)
    say("\nLargest Qosh Tepa cap (km3/yr) keeping UZB + TKM dry-year shortfall at or under the threshold "
        "(total: the shortfall itself; added: what Qosh Tepa adds), with the members' 5-95 % band and a plain run's check:")
    shown = admissible.assign(band=[f"[{a:.2f}-{b:.2f}]" for a, b in zip(admissible.withdrawal_p05_km3, admissible.withdrawal_p95_km3)])
    say(shown[["rule", "measure", "threshold_pct", "withdrawal_km3", "band", "check_pct", "without_qosh_tepa_pct", "status"]].round(2).to_string(index=False))
    say(f"\nThe season that takes {scenario.qosh_tepa.withdrawal_km3:g} km3/yr at the least UZB + TKM dry-year shortfall "
        "(mean, % of demand; Powell search from the seasonal pattern):")
    say(season.drop(columns="pattern").round(3).to_string(index=False))
    cols = ["agreement", "afg_withdrawal_km3", "UZB_dry_p90_pct", "TKM_dry_p90_pct", "UZB_TKM_dry_pct", "delta_inflow_km3", "better_than_no_agreement"]
    say("\nReference and named agreements (dry-year shortfall in % of demand; p90: 90th percentile of the members):")
    say(agreements[cols].round(2).to_string(index=False))
    better = front[front.better_than_no_agreement]
    say(f"\nPareto set: {len(front)} of {len(table)} agreements searched ({provenance['search_simulations']} simulations of "
        f"{evaluator.member_runs // max(evaluator.simulations, 1)} members each in the search; {evaluator.simulations} in all); "
        f"{len(better)} leave every party at least as well off as no agreement")
    if best is not None:
        weights = ", ".join(f"{k} {v:g}" for k, v in options.weights.items())
        say(f"Best compromise (weights {weights}; each party's objective scaled 0-1 over the front): rule {best.rule}, cap "
            f"{best.cap_km3:.2f} km3/yr, {best.growing_share:.0%} in April-September, {best.spring_cut:.0%} of April-May given up: "
            f"Afghanistan {best.afg_withdrawal_km3:.2f} km3/yr, UZB p90 {best.UZB_dry_p90_pct:.1f} %, TKM p90 {best.TKM_dry_p90_pct:.1f} %, "
            f"delta {best.delta_inflow_km3:.2f} km3/yr")
    if len(better):
        say(better.sort_values("afg_withdrawal_km3", ascending=False)[["rule", "cap_km3", "growing_share", "spring_cut", *cols[1:-1]]].head(8).round(2).to_string(index=False))
    say(f"\nwrote {out / 'admissible.csv'}, least_cost_season.csv, pareto.csv, pareto.nc, pareto.png, agreements.csv, negotiate.json in {time.perf_counter() - started:.1f} s")
    return 0


def _timeline(args) -> int:
    import json

    from hydro import charts, timeline
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    out = _out_folder(args, scenario, scenario.name + "_timeline")
    table, simulations = timeline.run_timeline(args.run_file, overrides)
    lines = timeline.changes(table)
    provenance = {"run_file": str(args.run_file), "overrides": [f"{k}={v}" for k, v in overrides], "basin": str(scenario.basin_path),
                  "members_per_set": scenario.members, "parameter_sets": scenario.parameter_sets, "rule": scenario.rule,
                  "qosh_tepa_build_out": [[str(m), s] for m, s in scenario.qosh_tepa.build_out],
                  "hydrology_trend": scenario.hydrology["trend"], "changes": lines, "simulations": simulations,
                  "seconds": round(time.perf_counter() - started, 1)}
    title = (f"{scenario.title or scenario.name}: rule {scenario.rule}, {scenario.members} members x "
             f"{max(scenario.parameter_sets, 1)} parameter set(s)")
    with atomic_outputs(out, command_line(args)) as tmp:
        table.round(4).to_csv(tmp("timeline.csv"), index=False)
        with open(tmp("timeline.json"), "w", encoding="utf-8") as fh:
            json.dump(json.loads(json.dumps(provenance, default=str)), fh, indent=1)
        charts.save(charts.timeline_figure(table, title), tmp("timeline.png"))
    say(title)
    shown = table[table.water_year.isin([2026, 2028, 2030, 2035, 2040]) & (table.quantity != "leverage_rank")]
    shown = shown.assign(figure=[f"{m:.2f} [{a:.2f}-{b:.2f}]" if b == b else f"{m:.2f}" for m, a, b in zip(shown["mean"], shown.p05, shown.p95)])
    say("\nMean of the members [5-95 %] (withdrawal and flow km3/yr, shortfall % of demand, scores 0-1, dry share 0-1):")
    say(shown.pivot_table(index=["quantity", "state"], columns="water_year", values="figure", aggfunc="first", sort=False).to_string())
    say("")
    for line in lines:
        say(line)
    say(f"\nwrote {out / 'timeline.csv'}, timeline.png, timeline.json in {time.perf_counter() - started:.1f} s")
    return 0


def _agreements_only(args, scenario, out, evaluator, rows: dict, started: float) -> int:
    """hydro negotiate --agreements-only: the named agreements judged like rules, side by side."""
    import json

    import pandas as pd

    from hydro import negotiation
    from hydro.results import atomic_outputs

    table = pd.DataFrame(list(rows.values()))
    table["better_than_no_agreement"] = negotiation.better_than(table, rows["no agreement"])
    about = {"run_file": str(args.run_file), "overrides": args.overrides, "agreements_file": str(args.agreements) if args.agreements else None,
             "members_per_set": scenario.members, "parameter_sets": scenario.parameter_sets, "simulations": evaluator.simulations,
             "dry_year": f"natural flow at Kerki exceeded in >= {scenario.analysis['dry_exceedance']:.0%} of years",
             "measures": negotiation.MEASURES, "seconds": round(time.perf_counter() - started, 1)}
    with atomic_outputs(out, command_line(args)) as tmp:
        table.round(4).to_csv(tmp("agreements.csv"), index=False)
        with open(tmp("negotiate.json"), "w", encoding="utf-8") as fh:
            json.dump(about, fh, indent=1)
    cols = ["agreement", "afg_withdrawal_km3", "UZB_dry_pct", "TKM_dry_pct", "UZB_dry_p90_pct", "TKM_dry_p90_pct", "delta_inflow_km3",
            "better_than_no_agreement"]
    say(f"{scenario.title or scenario.name}: agreements judged side by side ({scenario.members} members x "
        f"{max(scenario.parameter_sets, 1)} parameter set(s); dry-year shortfall in % of demand, p90: 90th percentile of the members)")
    say(table[cols].round(2).to_string(index=False))
    say(f"\nwrote {out / 'agreements.csv'}, negotiate.json in {time.perf_counter() - started:.1f} s")
    return 0


def _sweep(args) -> int:
    import pandas as pd

    from hydro.errors import Problem, ScenarioError
    from hydro.scenario import load_scenario, parse_set
    from hydro.sweeps import parse_vary, run_sweep

    started = time.perf_counter()
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    specs = args.vary or scenario.sweep_vary
    if not specs:
        raise ScenarioError([Problem("<command line>", "--vary", "<missing>", "KEY=SPEC, e.g. --vary qosh_tepa.withdrawal_km3=0:12:1 (or sweep.vary in the run file)")])
    varies = [parse_vary(v) for v in specs]
    out = _out_folder(args, scenario)
    # the worker pool's resource tracker inherits these options: after a Ctrl-C it cleans up quietly
    sys.warnoptions.append("ignore::UserWarning:multiprocessing.resource_tracker")
    run_sweep(args.run_file, varies, out, overrides, args.scheduler or args.scheduler_file, args.workers, args.detail, args.fresh,
              scheduler_timeout=args.scheduler_timeout)
    table = pd.read_csv(out / "sweep.csv")
    keys = [k for k, _ in varies]
    pivot = table[table.state.isin(["UZB", "TKM"])].pivot_table(index=keys, columns="state", values=["shortfall_pct", "dry_shortfall_pct"], sort=False)
    say(pivot.round(1).to_string())
    written = ""
    if any(k.startswith("reservoirs.") for k in keys):  # an operating policy's sweep: its water-energy trade-off
        from hydro import charts
        from hydro.results import atomic_file

        with atomic_file(out / "tradeoff.png") as tmp:
            charts.save(tradeoff_figure(out), tmp, "png")
        written = f", {out / 'tradeoff.png'}"
    say(f"\nwrote {out / 'sweep.csv'}{written} and {len(table) // max(table.state.nunique(), 1)} chunks in {out / 'chunks'} "
          f"in {time.perf_counter() - started:.1f} s; open with hydro.open_sweep({str(out)!r})")
    return 0


CHART_KINDS = ("shortfall", "heatmap", "exceedance", "map", "schematic", "storage", "delta", "withdrawal", "tradeoff")


def tradeoff_figure(folder: Path):
    """The trade-off chart of a sweep folder (its sweep.csv) across its first varied reservoirs.* key."""
    import pandas as pd

    from hydro import charts
    from hydro.errors import Problem, ScenarioError
    from hydro.sweeps import read_manifest

    keys = [k for k, _ in read_manifest(folder)["varies"] if k.startswith("reservoirs.")]
    if not keys:
        raise ScenarioError([Problem(str(folder), "--kind tradeoff", "<no reservoirs.* key varied>",
                                     "a sweep varying a reservoir's operation, e.g. reservoirs.nurek.energy_weight=0.5:1:0.1")])
    table = pd.read_csv(folder / "sweep.csv")
    try:
        return charts.tradeoff(table, keys[0])
    except ValueError as err:
        charts.plt.close("all")
        raise ScenarioError([Problem(str(folder), "--kind tradeoff", "<cannot be drawn from this sweep>", str(err))]) from None


def _report(args) -> int:
    from hydro.errors import Problem, ScenarioError
    from hydro.report import write_report

    folder = Path(args.folder)
    kinds = ("results.nc", "sweep.json", "compare.csv", "hindcast.csv", "sensitivity.csv", "uncertainty_band.csv", "pareto.csv",
             "agreements.csv", "timeline.csv")
    if not any((folder / f).exists() for f in kinds):
        raise ScenarioError([Problem(str(folder), "<folder>", f"<none of {', '.join(kinds)}>",
                                     "a folder written by hydro run, sweep, compare, hindcast, sensitivity, uncertainty, negotiate or timeline")])
    if args.timeline is not None and not (args.timeline / "timeline.csv").is_file():
        raise ScenarioError([Problem(str(args.timeline), "--timeline", "<no timeline.csv>", "a folder written by hydro timeline")])
    if args.hindcast is not None and not (args.hindcast / "hindcast.csv").is_file():
        raise ScenarioError([Problem(str(args.hindcast), "--hindcast", "<no hindcast.csv>", "a folder written by hydro hindcast")])
    if args.out is not None and str(args.out).strip() == "":
        raise ScenarioError([Problem("<command line>", "--out", "<empty>", "an HTML file, e.g. --out report.html")])
    out = write_report(folder, args.out, args.hindcast, _sel(args), args.timeline)
    say(f"wrote {out}")
    if args.pdf:
        say(f"wrote {print_pdf(out)}")
    return 0


def write_xlsx(path, sheets: dict, title: str) -> None:
    """Tables as one Excel workbook (openpyxl), a sheet per table (names cut to Excel's 31 characters), numbers rounded
    to 4 decimals, and a first sheet saying what the workbook is."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="openpyxl") as book:
        about = pd.DataFrame({"": [title, "volumes in km3 per year (km3 for Qosh Tepa's head, per month); shares in %",
                                   "bands: 5th and 95th percentiles over the members (_p05, _p95)", f"amu-hydro {hydro.__version__}"]})
        about.to_excel(book, sheet_name="about", index=False, header=False)
        for name, table in sheets.items():
            table.round(4).to_excel(book, sheet_name=name[:31])


def _sel(args) -> dict:
    """--sel KEY=VALUE pairs as {key: value} (values read as TOML: numbers stay numbers)."""
    from hydro.scenario import parse_set

    return dict(parse_set(text) for text in getattr(args, "sel", []) or [])


def select(ds, sel: dict, where: str):
    """`ds` at the --sel values (:func:`hydro.results.selection`)."""
    from hydro.results import selection

    return ds.sel(selection(ds, sel, where))


def print_pdf(html_path: Path) -> Path:
    """Print an HTML report to PDF beside it with headless Chromium (ScenarioError when no Chromium is installed)."""
    import shutil
    import subprocess
    import tempfile

    from hydro.errors import Problem, ScenarioError
    from hydro.results import atomic_file

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise ScenarioError([Problem("<command line>", "--pdf", "<no chromium>", "a Chromium on PATH to print the report (the HTML was written)")])
    target = html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile, atomic_file(target) as tmp:
        done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                               f"--print-to-pdf={tmp}", html_path.resolve().as_uri()], capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not Path(tmp).exists() or Path(tmp).stat().st_size == 0:
            raise OSError(f"chromium could not print the report: {(done.stderr or '').strip().splitlines()[-1:] or done.returncode}")
    return target


def _chart(args) -> int:
    from hydro import charts
    from hydro.errors import Problem, ScenarioError
    from hydro.results import atomic_file, open_results, saved_network

    results = Path(args.results)
    if args.out is not None and str(args.out).strip() == "":
        raise ScenarioError([Problem("<command line>", "--out", "<empty>", "a .png or .svg file")])
    out = Path(args.out) if args.out is not None else (results if results.is_dir() else results.parent) / f"{args.kind}.png"
    fmt = out.suffix.lstrip(".").lower() or "png"
    if fmt not in ("png", "svg"):
        raise ScenarioError([Problem("<command line>", "--out", str(out), "a .png or .svg file")])
    if out.resolve() == results.resolve() or out.is_dir():
        raise ScenarioError([Problem("<command line>", "--out", str(out), "a new .png or .svg file (not the results or a folder)")])
    sel = _sel(args)
    is_sweep = results.is_dir() and (results / "sweep.json").exists()
    if args.kind == "tradeoff":
        if not is_sweep or not (results / "sweep.csv").exists():
            raise ScenarioError([Problem(str(results), "--kind tradeoff", "<not a finished sweep folder>",
                                         "a folder written by hydro sweep varying a reservoir's operation (its sweep.csv)")])
        fig = tradeoff_figure(results)
        with atomic_file(out) as tmp:
            charts.save(fig, tmp, fmt)
        say(f"wrote {out}")
        return 0
    if args.kind == "withdrawal" and not is_sweep:
        raise ScenarioError([Problem(str(results), "--kind withdrawal", "<not a sweep folder>",
                                     "a folder written by hydro sweep varying qosh_tepa.withdrawal_km3 (the other kinds take one run)")])
    if is_sweep:
        from hydro.sweeps import open_sweep

        ds = select(open_sweep(results), sel, str(results))
    else:
        if results.is_dir():
            results = results / "results.nc" if (results / "results.nc").exists() or not (results / "compare.nc").exists() else results / "compare.nc"
        ds = select(open_results(results, lazy=None), sel, str(results))
    several = {d: ds.sizes[d] for d in ds.dims if d not in ("member", "time", "node") and ds.sizes[d] > 1}
    if args.kind == "withdrawal":
        several.pop("qosh_tepa.withdrawal_km3", None)
        several.pop("rule", None)
    if several:
        raise ScenarioError([Problem(str(results), "dims", f"<{' x '.join(f'{n} {d}' for d, n in several.items())}>",
                                     "one run: pick one value of each with --sel, e.g. " + " ".join(f"--sel {d}={ds[d].values[0].item()}" for d in several))])
    ds = ds.load() if is_sweep else ds
    try:
        if args.kind == "withdrawal":
            fig, ax = charts.plt.subplots(figsize=(8.3, 4.5), constrained_layout=True)
            charts.shortfall_vs_withdrawal(ds, ax=ax)
        elif args.kind == "shortfall":
            fig = charts.shortfall_figure(ds, ds.attrs.get("title", ""))
        else:
            network = saved_network(ds)
            size = {"map": (9.0, 7.4), "schematic": (8.3, 6.0)}.get(args.kind, (8.3, 4.5))
            fig, ax = charts.plt.subplots(figsize=size, constrained_layout=True)
            draw = {
                "heatmap": lambda: charts.shortfall_heatmap(ds, ax=ax),
                "exceedance": lambda: charts.shortfall_exceedance(ds, ax=ax),
                "map": lambda: charts.geographic_map(ds, ax=ax),
                "schematic": lambda: charts.basin_map(ds, ax=ax, downstream=charts.network_edges(network), returns=charts.return_edges(network)),
                "storage": lambda: charts.reservoir_storage(ds, ax=ax, bounds=charts.reservoir_bounds(network)),
                "delta": lambda: charts.delta_inflow(ds, ax=ax),
            }[args.kind]
            draw()
    except ValueError as err:  # a chart these results cannot give (a sweep keeps the summary only)
        charts.plt.close("all")
        raise ScenarioError([Problem(str(results), f"--kind {args.kind}", "<cannot be drawn from these results>", str(err))]) from None
    with atomic_file(out) as tmp:
        charts.save(fig, tmp, fmt)
    say(f"wrote {out}")
    return 0


def _hindcast(args) -> int:
    import pandas as pd

    from hydro import charts
    from hydro.errors import Problem, ScenarioError
    from hydro.hindcast import figure, hindcast, skill
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set

    if not args.run_file.is_file():
        raise ScenarioError([Problem(str(args.run_file), "<file>", "<does not exist>", "a run file: pass one, e.g. hydro hindcast runs/hindcast.toml")])
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    validate = None
    if args.validate is not None:
        try:
            validate = [int(y) for y in args.validate.split(",") if y.strip()]
        except ValueError:
            raise ScenarioError([Problem("<command line>", "--validate", args.validate, "comma-separated years, e.g. 2024")]) from None
    out = _out_folder(args, scenario, "hindcast")
    table = hindcast(args.run_file, overrides, validate, args.observed_demand)
    replayed = sorted(table[table.role != "not replayed"].year.unique())
    title = (f"Hindcast of {', '.join(str(y) for y in replayed)} ({scenario.rule}; held out: "
             f"{', '.join(str(y) for y in sorted(table[table.role == 'validation'].year.unique())) or 'none'})")
    with atomic_outputs(out, command_line(args)) as tmp:
        table.round(4).to_csv(tmp("hindcast.csv"), index=False)
        charts.save(figure(table, title), tmp("hindcast.png"))
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        say(title)
        say(table.drop(columns=["note", "source"]).round(3).to_string(index=False))
        say()
        say("Skill by role (absolute relative error):")
        say(skill(table).to_string())
    say(f"wrote {out / 'hindcast.csv'}, {out / 'hindcast.png'}")
    return 0


def _sensitivity(args) -> int:
    import pandas as pd

    from hydro import charts
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set
    from hydro.sensitivity import figure, sensitivity

    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    _own_parameters(scenario, args.run_file)
    out = _out_folder(args, scenario, f"{scenario.name}_sensitivity")
    started = time.perf_counter()
    base, table = sensitivity(args.run_file, overrides)
    title = (f"{scenario.title or scenario.name}: rule {scenario.rule}, Qosh Tepa {scenario.qosh_tepa.withdrawal_km3:g} km3/yr, "
             f"{scenario.hydrology_kind} hydrology ({scenario.members} member(s)); each figure alone at the ends of its range")
    with atomic_outputs(out, command_line(args)) as tmp:
        table.round(4).to_csv(tmp("sensitivity.csv"), index=False)
        charts.save(figure(base, table, title), tmp("sensitivity.png"))
    say(title)
    say(f"Qosh Tepa's cost to UZB + TKM as the basin file has it: {base['mean']:.2f} km3/yr in the run's years, "
          f"{base['dry']:.2f} in {base['dry_basis']}")
    cols = ["parameter", "confidence", "value", "low", "high", "units", "cost_mean_low_km3", "cost_mean_high_km3", "cost_dry_low_km3", "cost_dry_high_km3"]
    with pd.option_context("display.width", 220, "display.max_colwidth", 60):
        say(table[cols].round(3).to_string(index=False))
    say(f"wrote {out / 'sensitivity.csv'}, {out / 'sensitivity.png'} in {time.perf_counter() - started:.1f} s "
          f"({2 * len(table) + 1} evaluations of 4 runs each)")
    return 0


def _uncertainty(args) -> int:
    from hydro.errors import Problem, ScenarioError
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set
    from hydro.sensitivity import uncertainty

    if isinstance(args.samples, bool) or not 2 <= args.samples <= 100_000:
        raise ScenarioError([Problem("<command line>", "--samples", args.samples, "a number of parameter sets from 2 to 100,000")])
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    _own_parameters(scenario, args.run_file)
    out = _out_folder(args, scenario, f"{scenario.name}_uncertainty")
    started = time.perf_counter()
    table, band = uncertainty(args.run_file, overrides, args.samples, args.seed)
    with atomic_outputs(out, command_line(args)) as tmp:
        table.round(5).to_csv(tmp("uncertainty.csv"), index=False)
        band.round(4).to_csv(tmp("uncertainty_band.csv"))
    say(f"{scenario.title or scenario.name}: rule {scenario.rule}, Qosh Tepa {scenario.qosh_tepa.withdrawal_km3:g} km3/yr, "
          f"{scenario.hydrology_kind} hydrology ({scenario.members} member(s))")
    say(f"Qosh Tepa's cost to UZB + TKM (km3/yr) over {args.samples} parameter sets (every ranged basin figure uniform "
          f"over its range, Latin hypercube, seed {args.seed}); 'mean' = the run's years, 'dry' = {band.attrs.get('dry_basis', '')}; "
          f"the variance of the members' mean-year costs split between the parameter sets and the hydrology (members):")
    say(band.round(2).to_string())
    say(f"wrote {out / 'uncertainty.csv'}, {out / 'uncertainty_band.csv'} in {time.perf_counter() - started:.1f} s")
    return 0


def _own_parameters(scenario, path, key: str = "uncertainty.parameter_sets") -> None:
    """Refuse a run file that crosses the basin's parameter sets where a command sets the figures itself."""
    from hydro.errors import Problem, ScenarioError

    if scenario.parameter_sets:
        raise ScenarioError([Problem(str(path), key if key != "--cost-run" else f"{key} uncertainty.parameter_sets", scenario.parameter_sets,
                                     "0: this command sets the basin's ranged figures itself (use runs/mean_year.toml, or "
                                     "--set uncertainty.parameter_sets=0)")])


def _calibrate(args) -> int:
    import datetime

    import pandas as pd

    import hydro
    from hydro import charts
    from hydro.basin import load_basin
    from hydro.errors import Problem, ScenarioError
    from hydro.fit import calibrate, display_sets, parameters_toml, score
    from hydro.hindcast import figure as hindcast_figure
    from hydro.hindcast import skill
    from hydro.results import atomic_outputs
    from hydro.scenario import load_scenario, parse_set

    for name, value, ok, what in (("--samples", args.samples, 1 <= args.samples <= 100_000, "a number of sets from 1 to 100,000"),
                                  ("--tolerance", args.tolerance, 0 < args.tolerance < 10, "a relative error above 0, e.g. 0.15"),
                                  ("--refine", args.refine, 0 <= args.refine <= 10_000, "a number of evaluations from 0 to 10,000")):
        if not ok:
            raise ScenarioError([Problem("<command line>", name, value, what)])
    if not args.run_file.is_file():
        raise ScenarioError([Problem(str(args.run_file), "<file>", "<does not exist>", "a hindcast run file, e.g. runs/hindcast.toml")])
    overrides = [parse_set(s) for s in args.overrides]
    scenario = load_scenario(args.run_file, overrides)
    cost_scenario = load_scenario(args.cost_run, overrides) if args.cost_run is not None else None
    if cost_scenario is not None:
        _own_parameters(cost_scenario, args.cost_run, "--cost-run")
    out = _out_folder(args, scenario, "calibrate")
    basin = load_basin(scenario.basin_path)
    if args.install and "parameter_sets" not in basin.files:
        raise ScenarioError([Problem(str(basin.path / "basin.toml"), "parameter_sets", "<missing>",
                                     'a file name for --install to write, e.g. parameter_sets = "parameter_sets.csv"')])
    started = time.perf_counter()
    total = 1 + args.samples + args.refine

    def progress(n):
        if n % 25 == 0 or n == total:
            progress_log.info(f"  {n} sets evaluated ({time.perf_counter() - started:.0f} s)")

    result = calibrate(args.run_file, overrides, args.samples, args.tolerance, args.seed, args.refine, progress)
    sets = result["sets"]
    behavioural = sets[sets.behavioural]
    if cost_scenario is not None and len(behavioural):
        from hydro.sensitivity import parameter_overrides, qosh_tepa_cost

        costs = [qosh_tepa_cost(args.cost_run, [*overrides, *parameter_overrides(result["params"], row)]) for _, row in behavioural.iterrows()]
        sets.loc[behavioural.index, "cost_mean_km3"] = [c["mean"] for c in costs]
        sets.loc[behavioural.index, "cost_dry_km3"] = [c["dry"] for c in costs]
        behavioural = sets[sets.behavioural]
    provenance = {"made": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "package_version": hydro.__version__, "run_file": str(args.run_file.resolve()),
                  "basin_sha256": basin.sha256,
                  "sets": f"{len(sets)} ({args.samples} Latin hypercube, seed {args.seed}; {args.refine} refinement evaluations at most)",
                  "objective": "RMS of the calibration figures' relative errors (hindcast.csv, role calibration)",
                  "best": f"set {result['best_index']}: " + ", ".join(f"{k} {v:.4f}" for k, v in score(result["best_table"]).items()),
                  "behavioural": f"{len(behavioural)} sets with every calibration figure within {args.tolerance:.0%}"}
    with atomic_outputs(out, command_line(args)) as tmp:
        display_sets({**result, "sets": sets}).round(6).to_csv(tmp("calibration_sets.csv"), index=False)
        tmp("calibrated.toml").write_text(parameters_toml(result, provenance), encoding="utf-8")
        result["best_table"].round(4).to_csv(tmp("hindcast_calibrated.csv"), index=False)
        charts.save(hindcast_figure(result["best_table"], f"Hindcast with the calibrated set ({scenario.rule})"), tmp("hindcast_calibrated.png"))
    say(f"calibrated {len(result['params'])} parameters on {len(sets)} sets in {time.perf_counter() - started:.0f} s")
    with pd.option_context("display.width", 200):
        say("\nSkill as written:")
        say(skill(result["as_written"]).to_string())
        say("\nSkill with the best set:")
        say(skill(result["best_table"]).to_string())
        from hydro.sensitivity import DISPLAY

        say("\nBest set against the basin file:")
        unit = {p.label: DISPLAY.get(p.dimension, ("1", 1.0)) for p in result["params"]}
        say(pd.DataFrame({"as written": {p.label: p.value * unit[p.label][1] for p in result["params"]},
                            "best": {k: v * unit[k][1] for k, v in result["best"].items()},
                            "low": {p.label: p.low * unit[p.label][1] for p in result["params"]},
                            "high": {p.label: p.high * unit[p.label][1] for p in result["params"]},
                            "units": {k: u for k, (u, _) in unit.items()}}).round(4).to_string())
        say(f"\n{len(behavioural)} behavioural sets (every calibration figure within {args.tolerance:.0%}) of {len(sets)}")
        if "cost_mean_km3" in sets and len(behavioural):
            band = behavioural[["cost_mean_km3", "cost_dry_km3"]].quantile([0.05, 0.5, 0.95]).T
            say(f"Qosh Tepa's cost to UZB + TKM in {args.cost_run} over the behavioural sets (km3/yr; p5, p50, p95):")
            say(band.round(2).to_string())
    say(f"wrote {out / 'calibration_sets.csv'}, {out / 'calibrated.toml'}, {out / 'hindcast_calibrated.csv'}, {out / 'hindcast_calibrated.png'}")
    if args.install:
        from hydro import parameter_sets

        drawn = behavioural[behavioural.how == "latin hypercube"]
        if drawn.empty:
            raise ScenarioError([Problem("<command line>", "--install", "<no behavioural Latin-hypercube set>",
                                         "at least one drawn set within the tolerance (more --samples, or a larger --tolerance)")])
        parameter_sets.write(basin.files["parameter_sets"], drawn, result["params"],
                             {**{("basin_sha256_when_calibrated" if k == "basin_sha256" else k): v for k, v in provenance.items()},
                              "run_file": os.path.relpath(args.run_file.resolve(), basin.path.resolve()), "installed": f"{len(drawn)} behavioural sets drawn by the Latin hypercube (refined sets left out: "
                                                         "they cluster round the best one), in the order drawn",
                              "tolerance": f"{args.tolerance}", "command": command_line(args)})
        say(f"installed {len(drawn)} behavioural sets in {os.path.normpath(basin.files['parameter_sets'])}")
    return 0


def _leverage(args) -> int:
    from hydro import charts, leverage
    from hydro.errors import Problem, ScenarioError
    from hydro.results import atomic_outputs, check_outputs, counterparts, open_results, saved_network

    folder = Path(args.folder)
    leverage.check_samples(args.samples)

    def data_of(attrs: dict):
        if args.data is not None:
            return leverage.load_leverage(args.data)
        text = str(attrs.get("leverage_toml", ""))
        if not text:
            raise ScenarioError([Problem(str(folder), "attrs.leverage_toml", "<missing>", "the leverage indicators stored with the results, or --data FILE")])
        return leverage.load_leverage(Path(str(attrs.get("basin", "<basin>"))) / "leverage.toml (as stored in the results)", text)

    if (folder / "sweep.json").exists():
        from hydro.sweeps import open_sweep

        sweep = select(open_sweep(folder), _sel(args), str(folder))
        others = [d for d in sweep.dims if d not in ("member", "time", "node", "qosh_tepa.withdrawal_km3", "rule")]
        several = {d: sweep.sizes[d] for d in others if sweep.sizes[d] > 1}
        if several:
            raise ScenarioError([Problem(str(folder), "dims", f"<{' x '.join(f'{n} {d}' for d, n in several.items())}>",
                                         "one value of each key besides the Qosh Tepa level and the rule: "
                                         + " ".join(f"--sel {d}={sweep[d].values[0].item()}" for d in several))])
        sweep = sweep.isel({d: 0 for d in others})
        if "qosh_tepa.withdrawal_km3" not in sweep.dims:
            raise ScenarioError([Problem(str(folder), "sweep", "<no qosh_tepa.withdrawal_km3 dimension>", "a sweep that varies the Qosh Tepa withdrawal")])
        sweep = leverage.select_rule(sweep, args.rule)
        rule = leverage.rule_of(sweep)
        data = data_of(sweep.attrs)
        result = leverage.from_sweep(data, sweep, saved_network(sweep), args.withdrawal, args.samples, args.seed)
    elif (folder / "results.nc").exists():
        check_outputs(folder, ("results.nc",))
        ds = open_results(folder / "results.nc", lazy=None)
        rule = str(ds.attrs.get("rule", "?"))
        data = data_of(ds.attrs)
        others = counterparts(folder / "results.nc", ds, lazy=None)
        result = leverage.from_runs(data, ds, others["without"], saved_network(ds), args.samples, args.seed, others.get("dry"), others.get("dry_without"))
    else:
        raise ScenarioError([Problem(str(folder), "<folder>", "<no sweep.json or results.nc>", "a folder written by hydro sweep or hydro run")])
    out = check_out(args.out) if args.out is not None else folder
    table = leverage.to_csv_table(result)
    with atomic_outputs(out, command_line(args), replace=False) as tmp:
        table.round(4).to_csv(tmp("leverage.csv"))
        charts.save(charts.leverage_figure(result, f"Afghanistan's leverage over the Central Asian states (rule {rule})"), tmp("leverage.png"))
        if len(result.electricity):
            result.electricity.round(1).to_csv(tmp("leverage_electricity.csv"))
    cols = ["water", "connectivity", "security", "counter", "score", "rank"]
    say(f"Leverage at Qosh Tepa {result.withdrawal_km3:g} km3/yr, rule {rule} (dimensions 0-1; score = weighted exposure - counter-leverage):")
    say(result.table[cols].round(3).to_string())
    for line in leverage.electricity_lines(result):
        say(line)
    say("\nShare of samples in which each state holds each rank (weights and indicators sampled):")
    say(result.ranks.round(2).to_string())
    if result.response is not None:
        say(f"\nthe ranking first changes at Qosh Tepa {result.ranking_changes_at:g} km3/yr" if result.ranking_changes_at is not None
              else "\nthe ranking does not change over the swept withdrawals")
    written = ["leverage.csv", "leverage.png"] + (["leverage_electricity.csv"] if len(result.electricity) else [])
    say(f"\nwrote {', '.join(str(out / f) for f in written)}")
    return 0


def _check(args) -> int:
    from hydro.integrity import check_results

    report = check_results(args.results)
    balance = report["balance"]
    text = balance if isinstance(balance, str) else (f"mass balance closes: largest residual {balance['max_abs_hm3']:.2e} hm3, "
                                                     f"{balance['max_rel']:.1e} of a node's throughput")
    say(f"{args.results}: {report['members']} member(s) x {report['months']} months, {report['variables']} variables: "
          f"no NaN, inf or negative volume; {text}")
    return 0


def _rerun(args) -> int:
    from hydro.errors import MassBalanceError
    from hydro.integrity import rerun
    from hydro.results import atomic_outputs, write_results

    out = check_out(args.out, inputs=[args.results], outputs=("results.nc",)) if args.out is not None else None
    new, others, differ = rerun(args.results)
    if differ:
        raise MassBalanceError(f"{args.results}: re-run gives different data for {differ}; nothing was written")
    if out is not None:
        with atomic_outputs(out, command_line(args)) as tmp:
            write_results(new, tmp("results.nc"), others)
    say(f"{args.results}: re-run reproduces every variable exactly ({len(new.data_vars)} variables)"
          + (f"; wrote {out / 'results.nc'}" if out is not None else ""))
    return 0


def _validate(args) -> int:
    from hydro.basin import load_basin
    from hydro.network import compile_network
    from hydro.scenario import load_scenario

    path = args.path
    if path.suffix == ".toml" and path.is_file() and path.name != "basin.toml":
        scenario = load_scenario(path)
        basin = load_basin(scenario.basin_path)
        what = f"run file {path} (basin {scenario.basin_path})"
    else:
        basin = load_basin(path)
        what = f"basin {path}"
    from hydro.geography import load as load_map

    load_map(basin)  # display only, but a bad coordinate is still an error here
    if "recorded_figures" in basin.files:  # read by hydro hindcast: check it here too
        from hydro.hindcast import load_recorded

        load_recorded(basin)
    network = compile_network(basin)
    kinds = {k: network.kind_name.count(k) for k in ("inflow", "junction", "reservoir", "offtake", "terminal")}
    n_fig = sum(1 for _ in basin.figures())
    say(f"{what}: valid. {network.n} nodes ({', '.join(f'{v} {k}' for k, v in kinds.items())}), "
          f"{len(basin.reaches)} reaches, {n_fig} sourced figures, {len(basin.sources)} sources; sha256 {basin.sha256[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
