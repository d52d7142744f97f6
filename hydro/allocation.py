"""Allocation rules: given what the river holds at an offtake this month and what the offtake asks, say what
it may take.

A rule is a small object the simulator calls. ``begin_step`` sees every offtake's request for the month before
any water is routed (a rule that needs a whole-river view prepares here); ``take`` is called at each offtake in
topological order (upstream first) with the water available there above any protected flow.
"""

from __future__ import annotations

import numpy as np

from hydro.errors import Problem, ScenarioError, did_you_mean


class AllocationRule:
    """Base class. Subclasses set ``name`` and implement :meth:`take`."""

    name = ""

    def start(self, network, demands, axis, members: int) -> None:
        """Called once before the first month."""

    def begin_step(self, t: int, requests: np.ndarray) -> None:
        """Called at the start of month `t` with every offtake's request (members, offtakes), hm3."""

    def take(self, k: int, request: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Withdrawal (members,) in hm3 at offtake `k` (position among offtakes), at most `available`."""
        raise NotImplementedError


class UpstreamFirst(AllocationRule):
    """No coordination: each offtake takes min(request, available) in topological order.

    What happens without an agreement: whoever is upstream takes first (DESIGN.md, allocation rules;
    reference section 5 for the agreements this rule ignores). The request is the month's demand, capped at
    the canal's capacity; the available water is what reaches the offtake less the protected (minimum) flow of
    the reach below it.
    """

    name = "upstream_first"

    def take(self, k, request, available):
        return np.minimum(request, available)


RULES: dict[str, type[AllocationRule]] = {cls.name: cls for cls in (UpstreamFirst,)}


def make_rule(name: str, where: str = "<run>") -> AllocationRule:
    """The rule called `name`; ScenarioError with the known names (and the nearest) otherwise."""
    if name not in RULES:
        raise ScenarioError([Problem(where, "rule", name, "an allocation rule: " + did_you_mean(name, RULES))])
    return RULES[name]()
