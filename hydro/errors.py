"""Our own exceptions: each names the file, the key path, what was found and what was expected."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 50  # levels of tables and arrays in an input TOML; the model's own files use fewer than 6
TOO_DEEP = f"a TOML file nested at most {MAX_DEPTH} levels deep (arrays, tables and dotted keys)"


def too_deep(doc, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed TOML document nests tables and arrays more than `limit` levels (walked without recursion,
    so that a document of thousands of dotted levels is refused before anything copies or prints it)."""
    stack = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


class HydroError(Exception):
    """Base of every error the model raises on purpose (the CLI prints it on one line, exit code 2)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    key: str
    found: object
    expected: str

    def __str__(self) -> str:
        found = self.found if isinstance(self.found, str) and self.found.startswith("<") else repr(self.found)
        return f"{self.file}: {self.key}: found {found}, expected {self.expected}"


class ProblemsError(HydroError):
    """An error that carries every problem found in one input at once."""

    kind = "input"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.kind}"
        super().__init__(head + ":\n  " + "\n  ".join(str(p) for p in self.problems))


class BasinError(ProblemsError):
    """A basin folder that does not load or does not make a valid network."""

    kind = "basin"


class ScenarioError(ProblemsError):
    """A run file, a --set override or an inflow series that is not valid."""

    kind = "run"


class MassBalanceError(HydroError):
    """A simulation step whose water does not add up."""


class Collector:
    """Gathers problems for one file so that all of them are reported together."""

    def __init__(self, file: str | Path):
        self.file = str(file)
        self.problems: list[Problem] = []

    def add(self, key: str, found: object, expected: str, file: str | Path | None = None) -> None:
        self.problems.append(Problem(str(file) if file is not None else self.file, key, found, expected))

    def __bool__(self) -> bool:
        return bool(self.problems)


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' when a close match exists, else a list of the choices."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"one of {choices} (did you mean {close[0]!r}?)"
    return f"one of {choices}"


def read_failure(err: BaseException, expected: str) -> tuple[str, str, str]:
    """(key, found, expected) of the problem an exception raised while reading a text file stands for: bytes that
    are not UTF-8, or an OS error (missing, unreadable, a folder); `expected` says what the file should be."""
    if isinstance(err, UnicodeDecodeError):
        return "<encoding>", f"<byte {err.object[err.start]:#04x} at position {err.start}>", "UTF-8 text (save the file as UTF-8)"
    return "<file>", f"<{getattr(err, 'strerror', None) or err}>", expected
