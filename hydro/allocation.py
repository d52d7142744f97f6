"""Allocation rules: what each offtake may take this month.

A rule is a small object the simulator calls (:mod:`hydro.simulate`):

- ``start(network, demands, axis, inflows)`` once before the first month;
- ``begin_month(river)`` before a month is routed; ``river.route(ceiling)`` routes trial months;
- ``ceiling(k, view)``: the most offtake k may take this month (members,), hm3;
- ``protected(k, view)``: water offtake k must leave in the river for the environment (members,), hm3;
- ``taken(k, amount)``: told what offtake k took.

The simulator's withdrawal is ``min(ceiling, water above the reach's min_flow and the rule's protected flow)``,
so no rule can take water the river does not hold. Every rule has two options on top of its own arithmetic:

- ``afghanistan``: ``"outside"`` (default: Afghan offtakes take what they ask, first in line as upstream
  unilateral users, outside any quota or group), ``"quota"`` (Afghanistan has an annual limit
  ``afghan_quota_km3`` like the ICWC states, e.g. 2.1 km3 implied by Protocol 566, or 6 km3), ``"capped"``
  (Qosh Tepa is held to a negotiated cap, ``qosh_tepa_cap_m3s`` or ``qosh_tepa_cap_km3``; otherwise outside);
- ``environment_first``: the delta's requirement is passed down before any offtake takes: each offtake above a
  terminal leaves the terminal's monthly requirement grossed up for the reach losses on the way.

Sources (keys of ``basins/amu_darya/sources.toml``): ICWC seasonal limits and their revision with the forecast
(ICWC-2526, ICWC-2425, YB21-YB24); the 1996 Uzbekistan-Turkmenistan 50/50 split at Kerki (FAO-TKM); Protocol 566
shares have no primary source (textbook, unsourced: said in the results' ``rule_note``).
"""

from __future__ import annotations

import inspect

import numpy as np

from hydro.errors import Problem, ScenarioError, did_you_mean
from hydro.network import OFFTAKE, TERMINAL, Network
from hydro.units import m3s_to_hm3

AFGHANISTAN_POSITIONS = ("outside", "quota", "capped")


class AllocationRule:
    """Base class: every offtake may take its request (min of demand and capacity), in topological order.

    Parameters
    ----------
    afghanistan : "outside" | "quota" | "capped"
    afghan_quota_km3 : Afghanistan's annual limit under "quota", km3/yr (default 2.1: the Afghan use implied by
        Protocol 566, marked unsourced in the reference).
    qosh_tepa_cap_m3s, qosh_tepa_cap_km3 : the negotiated cap on Qosh Tepa under "capped" (one of them).
    environment_first : pass the terminals' requirements down before any offtake takes.
    """

    name = ""

    def __init__(self, afghanistan: str = "outside", afghan_quota_km3: float = 2.1, qosh_tepa_cap_m3s: float | None = None,
                 qosh_tepa_cap_km3: float | None = None, environment_first: bool = False):
        if afghanistan not in AFGHANISTAN_POSITIONS:
            raise ValueError(f"afghanistan: found {afghanistan!r}, expected " + did_you_mean(str(afghanistan), AFGHANISTAN_POSITIONS))
        if afghanistan == "capped" and (qosh_tepa_cap_m3s is None) == (qosh_tepa_cap_km3 is None):
            raise ValueError("afghanistan = 'capped' needs exactly one of qosh_tepa_cap_m3s or qosh_tepa_cap_km3")
        for label, v in (("afghan_quota_km3", afghan_quota_km3), ("qosh_tepa_cap_m3s", qosh_tepa_cap_m3s), ("qosh_tepa_cap_km3", qosh_tepa_cap_km3)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0):
                raise ValueError(f"{label}: found {v!r}, expected a number >= 0")
        if not isinstance(environment_first, bool):
            raise ValueError(f"environment_first: found {environment_first!r}, expected true or false")
        self.afghanistan = afghanistan
        self.afghan_quota_km3 = float(afghan_quota_km3)
        self.qosh_tepa_cap_m3s = qosh_tepa_cap_m3s
        self.qosh_tepa_cap_km3 = qosh_tepa_cap_km3
        self.environment_first = environment_first

    # ---------------------------------------------------------------- set-up

    def start(self, network: Network, demands, axis, inflows: np.ndarray) -> None:
        """Called once before the first month: keep what the rule needs about the basin and the run."""
        self.network, self.demands, self.axis, self.inflows = network, demands, axis, inflows
        self.members = inflows.shape[0]
        states = np.array([network.state[i] for i in network.offtake_idx], dtype=object)
        self.offtake_state = states
        self.afghan = states == "AFG"
        qt = network.qosh_tepa
        self.qt = qt
        # environment: for each offtake, (terminal position, 1 / path factor from below the offtake to it)
        self._env = []
        for i in network.offtake_idx:
            factor, cur = 1.0, int(i)
            while network.downstream[cur] >= 0:
                factor *= 1.0 - network.loss_fraction[cur]
                cur = int(network.downstream[cur])
            j = network.position["terminal"][cur]
            self._env.append((j, 1.0 / factor if factor > 0 else np.inf))
        self.afghan_limits = None
        if self.afghanistan == "quota":
            self.afghan_limits = SeasonalLimits(self, {"AFG": self.afghan_quota_km3})
        self.setup()

    def setup(self) -> None:
        """Subclasses prepare here (called at the end of :meth:`start`)."""

    # ---------------------------------------------------------------- each month

    def begin_month(self, river) -> None:
        if self.afghan_limits is not None:
            self.afghan_limits.begin_month(river.t)

    def share(self, k: int, view) -> np.ndarray:
        """The rule's own ceiling for an offtake that takes part in it (subclasses); the request by default."""
        return view.requests[k]

    def takes_part(self, k: int) -> bool:
        """False for Afghan offtakes outside the regime (outside, or Qosh Tepa when capped)."""
        if not self.afghan[k]:
            return True
        return self.afghanistan == "quota"

    def ceiling(self, k: int, view) -> np.ndarray:
        request = view.requests[k]
        if self.afghan[k] and self.afghanistan != "quota":
            if self.afghanistan == "capped" and k == self.qt:
                return np.minimum(request, self._qt_cap(view))
            return request
        c = self.share(k, view)
        if self.afghan[k] and self.afghan_limits is not None:
            c = np.minimum(c, self.afghan_limits.ceiling(k, request))
        return c

    def _qt_cap(self, view) -> np.ndarray | float:
        if self.qosh_tepa_cap_m3s is not None:
            return m3s_to_hm3(self.qosh_tepa_cap_m3s, view.days)
        target = self.demands.annual[self.qt]
        scale = min(1.0, self.qosh_tepa_cap_km3 * 1000.0 / target) if target > 0 else 0.0
        return view.requests[self.qt] * scale

    def environment(self, view) -> np.ndarray:
        """Each terminal's requirement this month, (terminals,) or (members, terminals), hm3: the basin's by default."""
        return view.requirement

    def protected(self, k: int, view) -> np.ndarray | float:
        if not self.environment_first:
            return 0.0
        j, gross = self._env[k]
        return self.environment(view)[..., j] * gross

    def taken(self, k: int, amount: np.ndarray) -> None:
        if self.afghan_limits is not None and self.afghan[k]:
            self.afghan_limits.take(k, amount)


class SeasonalLimits:
    """States' annual limits turned into seasonal limits and tracked as offtakes draw on them.

    For state s with annual limit L_s (km3) and annual demand D_s (the sum of its offtakes' annual demands), in
    each season (growing Apr-Sep, non-growing Oct-Mar; a season cut by the run's ends counts its months only):

        quota ratio      q_s = min(1, cut x L_s / D_s)
        seasonal limit   S_s = cut x L_s x (demand of the state in the season's months) / D_s

    Each offtake k of state s may take at most ``q_s x request_k`` and never more than what remains of S_s.
    ``cut`` is 1 unless the rule gives a cut per season (ICWC: forecast / norm, at most 1).
    """

    def __init__(self, rule: AllocationRule, limits_km3: dict[str, float], cut=None):
        self.rule = rule
        demands, axis = rule.demands, rule.axis
        states = rule.offtake_state
        self.states = [s for s in limits_km3 if np.any(states == s)]
        self.limit_hm3 = {s: float(limits_km3[s]) * 1000.0 for s in self.states}
        self.members_of = {s: np.flatnonzero(states == s) for s in self.states}
        self.annual = {s: float(demands.annual[self.members_of[s]].sum()) for s in self.states}
        self.state_pos = {int(k): s for s in self.states for k in self.members_of[s]}
        season = axis.water_year * 2 + axis.growing
        self.season = season
        self.season_months = {int(v): np.flatnonzero(season == v) for v in np.unique(season)}
        self.cut = cut  # callable(t, months) -> (members,) or None
        M = rule.members
        self.ratio = {s: np.ones(M) for s in self.states}
        self.remaining = {s: np.full(M, np.inf) for s in self.states}
        self.seasonal_limit = {s: np.full(M, np.inf) for s in self.states}
        self.current = None

    def begin_month(self, t: int) -> None:
        key = int(self.season[t])
        if key == self.current:
            return
        self.current = key
        months = self.season_months[key]
        cut = self.cut(t, months) if self.cut is not None else np.ones(self.rule.members)
        for s in self.states:
            demand = float(self.rule.demands.offtake[np.ix_(months, self.members_of[s])].sum())
            if self.annual[s] <= 0:
                self.ratio[s] = np.zeros(self.rule.members)
                self.seasonal_limit[s] = np.zeros(self.rule.members)
            else:
                self.ratio[s] = np.minimum(1.0, cut * self.limit_hm3[s] / self.annual[s])
                self.seasonal_limit[s] = cut * self.limit_hm3[s] * demand / self.annual[s]
            self.remaining[s] = self.seasonal_limit[s].copy()

    def governs(self, k: int) -> bool:
        return int(k) in self.state_pos

    def ceiling(self, k: int, request: np.ndarray) -> np.ndarray:
        s = self.state_pos.get(int(k))
        if s is None:
            return request
        return np.minimum(request * self.ratio[s], np.maximum(self.remaining[s], 0.0))

    def take(self, k: int, amount: np.ndarray) -> None:
        s = self.state_pos.get(int(k))
        if s is not None:
            self.remaining[s] = self.remaining[s] - amount


class UpstreamFirst(AllocationRule):
    """No coordination: each offtake takes min(demand, capacity, water above any protected flow), upstream first.

    What happens without an agreement (reference section 5 lists the agreements this rule ignores). Arithmetic:
    withdrawal_k = min(request_k, water_k - protected_k), visiting offtakes in topological order.
    """

    name = "upstream_first"


class IcwcQuota(AllocationRule):
    """ICWC limits: each state's seasonal limit is its annual limit, cut in proportion in a dry season.

    Source: ICWC practice (reference section 5: limits set for the growing Apr-Sep and non-growing Oct-Mar
    seasons from flow forecasts, revised with actual water availability); default limits are the 2025-26 ICWC
    decision (reference 3b: TJK 9.8, TKM 22.0, UZB 22.0 km3; delta 4.2 km3 + 0.8 km3 sanitary). The proportional
    cut is general practice with no published formula (reference: U).

    Arithmetic per season: cut = min(1, F / N), with N the natural flow at the forecast point (Kerki) in the
    basin's mean year over the season's months and F the forecast of it: the season's actual natural flow
    (perfect foresight) times (1 + forecast_error x e), e ~ N(0, 1) drawn per member and season from `seed`.
    Each state's offtakes then draw against its seasonal limit (:class:`SeasonalLimits`): at most
    min(1, cut x L_s / D_s) of their request. With ``environment_first`` the delta is protected at
    (delta_km3 + sanitary_km3) x cut on the basin's monthly pattern of the requirement.
    """

    name = "icwc_quota"
    default_limits = {"TJK": 9.8, "TKM": 22.0, "UZB": 22.0}
    unsourced = False

    def __init__(self, limits_km3: dict | None = None, delta_km3: float = 4.2, sanitary_km3: float = 0.8,
                 forecast_error: float = 0.0, forecast_point: str = "kerki", seed: int = 0, **options):
        super().__init__(**options)
        if limits_km3 is not None and not isinstance(limits_km3, dict):
            raise ValueError(f"limits_km3: found {limits_km3!r}, expected a table of annual limits by state, e.g. {{ UZB = 22.0 }}")
        limits = dict(self.default_limits if limits_km3 is None else limits_km3)
        for s, v in limits.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"limits_km3.{s}: found {v!r}, expected an annual limit in km3 >= 0")
        for label, v in (("delta_km3", delta_km3), ("sanitary_km3", sanitary_km3), ("forecast_error", forecast_error)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{label}: found {v!r}, expected a number >= 0")
        if not isinstance(forecast_point, str):
            raise ValueError(f"forecast_point: found {forecast_point!r}, expected the name of a node (e.g. 'kerki')")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(f"seed: found {seed!r}, expected a whole number from 0 to 2**32 - 1")
        self.limits_km3 = limits
        self.delta_km3, self.sanitary_km3 = float(delta_km3), float(sanitary_km3)
        self.forecast_error = float(forecast_error)
        self.forecast_point = forecast_point
        self.seed = int(seed)

    def setup(self) -> None:
        from hydro.hydrology import climatology

        net = self.network
        if self.forecast_point in net.names:
            above = set(net.upstream_of(self.forecast_point))
            cols = [k for k, i in enumerate(net.inflow_idx) if net.names[i] in above]
        else:
            cols = list(range(len(net.inflow_idx)))  # no such gauge: the basin's whole natural flow
        self.natural = self.inflows[:, :, cols].sum(axis=2)  # (members, T)
        self.norm = climatology(net, self.axis, 1)[0][:, cols].sum(axis=1)  # (T,)
        self.rng = np.random.default_rng(self.seed)
        limits = dict(self.limits_km3)
        if self.afghanistan == "quota":
            limits["AFG"] = self.afghan_quota_km3
        self.limits = SeasonalLimits(self, limits, cut=self._cut)
        self.afghan_limits = None  # Afghanistan, when in the regime, is one of the states above
        self.season_cut = np.ones(self.members)
        self.ignored_states = sorted(set(self.limits_km3) - set(self.limits.states))

    def _cut(self, t: int, months: np.ndarray) -> np.ndarray:
        norm = float(self.norm[months].sum())
        forecast = self.natural[:, months].sum(axis=1)
        if self.forecast_error > 0:
            forecast = forecast * np.maximum(1.0 + self.forecast_error * self.rng.standard_normal(self.members), 0.0)
        self.season_cut = np.minimum(1.0, forecast / norm) if norm > 0 else np.ones(self.members)
        return self.season_cut

    def begin_month(self, river) -> None:
        self.limits.begin_month(river.t)

    def share(self, k, view):
        return self.limits.ceiling(k, view.requests[k])

    def taken(self, k, amount):
        self.limits.take(k, amount)

    def environment(self, view):
        basin = self.network.terminal_requirement_annual
        scale = np.where(basin > 0, (self.delta_km3 + self.sanitary_km3) * 1000.0 / np.where(basin > 0, basin, 1.0), 0.0)
        return view.requirement[None, :] * scale[None, :] * self.season_cut[:, None]


class Protocol566(IcwcQuota):
    """ICWC mechanism with the Soviet-era Protocol 566 (1987) limits: UZB 29.6, TKM 22.0, TJK 9.5, KGZ 0.4 km3.

    UNSOURCED: the reference found no primary text of Protocol 566 (section 5, confidence U); these are textbook
    figures, kept configurable through ``limits_km3``. Kyrgyzstan has no offtake in the Amu Darya model, so its
    0.4 km3 is not allocated. Afghanistan's use implied by the protocol (~2.1 km3) is the default
    ``afghan_quota_km3`` when ``afghanistan = "quota"``. Arithmetic as :class:`IcwcQuota`.
    """

    name = "protocol_566"
    default_limits = {"UZB": 29.6, "TKM": 22.0, "TJK": 9.5, "KGZ": 0.4}
    unsourced = True


class KerkiSplit(AllocationRule):
    """The 1996 Uzbekistan-Turkmenistan agreement: the flow at Kerki is split 50/50 (reference section 5, FAO-TKM).

    Arithmetic each month, once the flow at Kerki W is known (volumes counted at Kerki: an offtake's withdrawal
    divided by the path factor of the reach losses from Kerki to it):

    1. D = max(W + V - E, 0): V is what the reservoirs below Kerki hold above dead storage at the start of the
       month (Tuyamuyun is run for both states), E the environmental requirement of the terminal below.
    2. Q_s = demand of state s below Kerki; shares a_s = D x share_s; a state needing less than its share leaves
       the rest to the other: A_s = min(Q_s, a_s + max(a_o - Q_o, 0)).
    3. Within a state, offtakes share A_s in proportion to demand: x_k = request_k x min(1, A_s / Q_s).
    4. Stored water reaches only the offtakes below the reservoir: when the middle-reach offtakes (between Kerki and
       the reservoir) of both states together would need more than W, all of them are cut by the same factor
       W / (their sum), and what a state loses there moves to its own offtakes below the reservoir (up to their
       requests).

    Offtakes above Kerki, and below it of other states, take as under ``upstream_first``.
    """

    name = "kerki_split"

    def __init__(self, split_point: str = "kerki", shares: dict | None = None, **options):
        super().__init__(**options)
        if shares is not None and not (isinstance(shares, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in shares.values())):
            raise ValueError(f"shares: found {shares!r}, expected a table of two states' shares, e.g. {{ UZB = 0.5, TKM = 0.5 }}")
        shares = {"UZB": 0.5, "TKM": 0.5} if shares is None else dict(shares)
        if len(shares) != 2 or abs(sum(shares.values()) - 1.0) > 1e-9 or any(v < 0 for v in shares.values()):
            raise ValueError(f"shares: found {shares!r}, expected two states whose shares add up to 1")
        if not isinstance(split_point, str):
            raise ValueError(f"split_point: found {split_point!r}, expected the name of a node (e.g. 'kerki')")
        self.split_point, self.shares = split_point, shares

    def setup(self) -> None:
        net = self.network
        if self.split_point not in net.names:
            raise ScenarioError([Problem("<run>", "allocation.split_point", self.split_point, "a node of the basin: " + did_you_mean(self.split_point, net.names))])
        self.kerki = net.index(self.split_point)
        self.gross = {}  # offtake position -> 1 / path factor from Kerki
        self.middle = set()  # offtakes above the first reservoir below Kerki
        factor, cur, above_reservoir = 1.0, self.kerki, True
        reservoirs = []
        while net.downstream[cur] >= 0:
            factor *= 1.0 - net.loss_fraction[cur]
            cur = int(net.downstream[cur])
            if net.kind[cur] == OFFTAKE:
                self.gross[net.position["offtake"][cur]] = 1.0 / factor
                if above_reservoir:
                    self.middle.add(net.position["offtake"][cur])
            elif cur in net.position["reservoir"]:
                reservoirs.append(net.position["reservoir"][cur])
                above_reservoir = False
            if net.kind[cur] == TERMINAL:
                self.terminal, self.terminal_gross = net.position["terminal"][cur], 1.0 / factor
        self.reservoirs_below = np.array(reservoirs, dtype=int)
        if not len(reservoirs):
            self.middle = set()  # no storage below Kerki: everything comes from W, nothing to rebalance
        self.below = {s: [k for k in self.gross if self.offtake_state[k] == s] for s in self.shares}

    def allowances(self, view) -> dict[int, np.ndarray]:
        """Allowed withdrawal (members,) of every offtake of the two states below Kerki this month, hm3."""
        W = view.flow[self.kerki]
        res = self.reservoirs_below
        V = np.maximum(view.storage[res] - self.network.reservoir_dead[res][:, None], 0.0).sum(axis=0) if len(res) else 0.0
        E = self.environment(view)[..., self.terminal] * self.terminal_gross
        D = np.maximum(W + V - E, 0.0)
        req = {k: view.requests[k] for s in self.shares for k in self.below[s]}
        Q = {s: sum((req[k] * self.gross[k] for k in self.below[s]), np.zeros_like(W)) for s in self.shares}
        s1, s2 = list(self.shares)
        a = {s: D * self.shares[s] for s in self.shares}
        A = {s1: np.minimum(Q[s1], a[s1] + np.maximum(a[s2] - Q[s2], 0.0)),
             s2: np.minimum(Q[s2], a[s2] + np.maximum(a[s1] - Q[s1], 0.0))}
        ratio = {s: np.minimum(1.0, A[s] / np.where(Q[s] > 0, Q[s], 1.0)) for s in self.shares}
        x = {k: req[k] * ratio[self.offtake_state[k]] for k in req}
        if self.middle:
            need = sum((x[k] * self.gross[k] for k in req if k in self.middle), np.zeros_like(W))
            f = np.minimum(1.0, W / np.where(need > 0, need, 1.0))
            for s in self.shares:
                freed = sum(((1 - f) * x[k] * self.gross[k] for k in self.below[s] if k in self.middle), np.zeros_like(W))
                lower = [k for k in self.below[s] if k not in self.middle]
                room = {k: (req[k] - x[k]) * self.gross[k] for k in lower}
                total_room = sum(room.values(), np.zeros_like(W))
                move = np.minimum(freed, total_room)
                for k in self.below[s]:
                    if k in self.middle:
                        x[k] = x[k] * f
                    else:
                        x[k] = x[k] + move * room[k] / np.where(total_room > 0, total_room, 1.0) / self.gross[k]
        return x

    def share(self, k, view):
        if k not in self.gross or self.offtake_state[k] not in self.shares:
            return view.requests[k]
        return self.allowances(view)[k]


class Proportional(AllocationRule):
    """Every offtake in the group suffers the same fraction of shortfall (of its request).

    The group is every offtake taking part in the rule (Afghan offtakes join it only with
    ``afghanistan = "quota"``). Arithmetic each month: the largest common ratio r in [0, 1] such that every
    group offtake can take r x request_k from the river, found by bisection on trial routings of the month
    (30 halvings: r to within 1e-9); offtakes outside the group take first, as upstream unilateral users.
    Source: the general practice of cutting everyone's limit by the same percentage (reference section 5, U).
    """

    name = "proportional"
    iterations = 30

    def setup(self):
        self.group = np.array([self.takes_part(k) for k in range(len(self.network.offtake_idx))], dtype=bool)
        self.ratio = np.ones(self.members)

    def begin_month(self, river) -> None:
        super().begin_month(river)
        requests = river.requests

        def feasible(r):
            def ceiling(k, view):
                return requests[k] * r if self.group[k] else AllocationRule.ceiling(self, k, view)

            got = river.route(ceiling)["withdrawal"][self.network.offtake_idx]  # (offtakes, members)
            want = requests * r[None, :]
            ok = got >= want * (1 - 1e-12)  # relative only: a tiny request must not pass on an absolute slack
            return np.all(ok | ~self.group[:, None], axis=0)

        ones = np.ones(self.members)
        done = feasible(ones)
        lo, hi = np.where(done, 1.0, 0.0), np.ones(self.members)
        if not done.all():
            for _ in range(self.iterations):
                mid = np.where(done, 1.0, (lo + hi) / 2)
                ok = feasible(mid)
                lo = np.where(ok & ~done, mid, lo)
                hi = np.where(~ok & ~done, mid, hi)
        self.ratio = lo

    def share(self, k, view):
        return view.requests[k] * self.ratio


RULES: dict[str, type[AllocationRule]] = {cls.name: cls for cls in (UpstreamFirst, IcwcQuota, Protocol566, KerkiSplit, Proportional)}


def rule_options(name: str) -> list[str]:
    """The option names a rule accepts (its own and the common ones)."""
    cls = RULES[name]
    names = []
    for klass in cls.__mro__:
        if klass is object:
            continue
        for p in inspect.signature(klass.__init__).parameters.values():
            if p.name not in ("self", "options") and p.kind is not p.VAR_KEYWORD and p.name not in names:
                names.append(p.name)
    return names


def make_rule(name: str, where: str = "<run>", options: dict | None = None) -> AllocationRule:
    """The rule called `name` with `options` (the run file's [allocation] table); ScenarioError naming the key
    otherwise (unknown rule or option with the nearest known one, or a bad value)."""
    if name not in RULES:
        raise ScenarioError([Problem(where, "rule", name, "an allocation rule: " + did_you_mean(name, RULES))])
    options = dict(options or {})
    known = rule_options(name)
    problems = [Problem(where, f"allocation.{key}", "<unknown option>", f"an option of rule {name!r}: " + did_you_mean(key, known))
                for key in options if key not in known]
    if problems:
        raise ScenarioError(problems)
    try:
        return RULES[name](**options)
    except (ValueError, TypeError, OverflowError) as err:
        raise ScenarioError([Problem(where, f"allocation ({name})", "<invalid option>", str(err))]) from err
