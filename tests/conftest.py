"""Shared fixtures: the shipped basin (loaded once) and helpers that build tiny hand-checkable basins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from hydro.allocation import make_rule
from hydro.basin import load_basin
from hydro.demand import build_demands
from hydro.network import compile_network
from hydro.simulate import simulate
from hydro.timeaxis import TimeAxis

ROOT = Path(__file__).resolve().parents[1]
AMU_DARYA = ROOT / "basins" / "amu_darya"
RUNS = ROOT / "runs"

TINY_SOURCES = """
format_version = 1
[sources.T]
title = "test figure"
url = "tests"
confidence = "H"
"""


def tiny_basin(demand: str = "0.5 km3/yr", growing_share: float = 0.7) -> str:
    """The smallest basin body: src (inflow) -> farm (offtake, UZB) -> sea (terminal)."""
    return f"""
        [[node]]
        name = "src"
        kind = "inflow"
        regime = "uniform"
        annual_flow = {{ value = "1.2 km3/yr", source = "T" }}
        [[node]]
        name = "farm"
        kind = "offtake"
        state = "UZB"
        demand = {{ value = "{demand}", source = "T" }}
        growing_share = {{ value = {growing_share}, source = "T" }}
        [[node]]
        name = "sea"
        kind = "terminal"
        [[reach]]
        from = "src"
        to = "farm"
        [[reach]]
        from = "farm"
        to = "sea"
    """


SETTINGS = {"regime", "curve", "return_to", "state", "province"}


def fig(value) -> str:
    """A sourced figure for a test basin: a plain number, or a quantity string such as '12.5 hm3'."""
    v = f'"{value}"' if isinstance(value, str) else repr(float(value))
    return f'{{ value = {v}, source = "T" }}'


def qty(x: float, unit: str) -> str:
    """A sourced quantity: qty(12.5, 'hm3') -> { value = "12.5 hm3", source = "T" }."""
    return fig(f"{float(x)!r} {unit}")


def node(name: str, kind: str, **keys) -> str:
    """One [[node]] table; strings of settings are quoted, bools lowercase, everything else a sourced figure."""
    if kind == "inflow":
        keys = {"regime": "uniform", "annual_flow": "1 km3/yr", **keys}
    if kind == "offtake":
        keys = {"state": "UZB", **keys}
    lines = ["[[node]]", f'name = "{name}"', f'kind = "{kind}"']
    for key, value in keys.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif key in SETTINGS:
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {fig(value)}")
    return "\n".join(lines) + "\n"


def reach(a: str, b: str, **figures) -> str:
    lines = ["[[reach]]", f'from = "{a}"', f'to = "{b}"']
    lines += [f"{k} = {fig(v)}" for k, v in figures.items()]
    return "\n".join(lines) + "\n"



def write_basin(folder: Path, body: str, sources: str = TINY_SOURCES, files: dict[str, str] | None = None) -> Path:
    """Write a basin folder: basin.toml = format_version + `body`, a sources.toml, and any extra files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "basin.toml").write_text("format_version = 1\n" + textwrap.dedent(body), encoding="utf-8")
    (folder / "sources.toml").write_text(textwrap.dedent(sources), encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def run_tiny(folder: Path, inflows_hm3, start: str = "2001-01", enabled=None, qosh_tepa=None, rule="upstream_first", options=None):
    """Simulate a tiny basin with given inflows (months, inflow nodes) or (members, months, inflow nodes), hm3.

    `rule` is a rule name (with `options`, the run file's [allocation] table) or a rule object.
    Returns (arrays, network); arrays as from :func:`hydro.simulate.simulate` (balance checked)."""
    basin = load_basin(folder)
    network = compile_network(basin, enabled)
    inflows = np.asarray(inflows_hm3, dtype=float)
    if inflows.ndim == 2:
        inflows = inflows[None]
    axis = TimeAxis(np.datetime64(start, "M"), inflows.shape[1])
    demands = build_demands(network, axis, qosh_tepa)
    rule = make_rule(rule, options=options) if isinstance(rule, str) else rule
    return simulate(network, inflows, demands, axis, rule), network


@pytest.fixture(scope="session")
def amu_basin():
    return load_basin(AMU_DARYA)
