"""Progress bars on stderr for long commands (run, compare, sweep), drawn only on a terminal.

A bar is a ``tqdm`` bar (a well-kept library: rates, time left, terminal width), disabled when stderr is not a
terminal, so that log files and pipes never receive carriage returns, and when the command runs with ``-q``.
"""

from __future__ import annotations

import sys

QUIET = {"on": False}  # set by hydro.cli for -q


def bar(total: int, desc: str, unit: str, done: int = 0):
    """A progress bar over `total` steps of `unit` (its ``update(n)`` advances it; ``close()`` ends it)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True,
                disable=QUIET["on"] or not sys.stderr.isatty())
