"""Allocation rules: what each offtake may take this month.

A rule is options, checks and docstrings here, and data for the compiled monthly loop (:mod:`hydro.kernel`):
``rule.plan(network, demands, axis, inflows, requests)`` returns a :class:`hydro.kernel.Plan` holding, per
offtake, its kind of share, its state pool and the environmental flow it must leave, and the rule's own tables
(seasonal cuts, Kerki's reaches). The kernel computes each month, for each offtake, a *ceiling*:

- ``fixed``: the request (min of demand and capacity x days), or a negotiated cap on Qosh Tepa;
- ``proportional``: the request x the month's common ratio (bisection on trial routings);
- ``kerki``: the allowance of the Uzbekistan-Turkmenistan split at Kerki;

then, for an offtake in a state pool, min(that, request x the pool's ratio, what remains of the pool). The
withdrawal is ``min(ceiling, water above the reach's min_flow and the rule's protected flow)``, so no rule can take
water the river does not hold. Every rule has two options on top of its own arithmetic:

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
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from hydro.errors import Problem, ScenarioError, did_you_mean
from hydro.network import OFFTAKE, TERMINAL, Network
from hydro.units import m3s_to_hm3

AFGHANISTAN_POSITIONS = ("outside", "quota", "capped")
CUT_BASES = ("natural", "after_afghan_use")  # what the ICWC seasonal cut is forecast on

FIXED, PROPORTIONAL, KERKI = 0, 1, 2  # kinds of share (Plan.share_kind)

Plan = namedtuple("Plan", [
    "fixed",  # (T, K) ceiling of an offtake whose share is its request (or Qosh Tepa's negotiated cap), hm3
    "share_kind",  # (K,) FIXED, PROPORTIONAL (request x the month's common ratio) or KERKI (the split's allowance)
    "pool", "pool_limit", "pool_annual", "pool_demand", "epoch", "cut",  # SeasonalLimits: (K,) pool or -1; (P,); (P, E); (T,); (E, 1 or M)
    "env", "env_cut", "env_first", "env_term", "env_gross",  # (T, J) requirement the rule protects, x cut?; protect?; (K,); (K,)
    "kerki", "k_off", "k_state", "k_gross", "k_middle", "k_res", "k_term", "k_term_gross", "k_shares",  # KerkiSplit
    "proportional", "group", "iterations",  # Proportional: bisect?; (K,) in the group; halvings
])
Plan.__doc__ = "An allocation rule for one run, as data for the compiled monthly loop (hydro.kernel); volumes in hm3."


class AllocationRule:
    """Base class: every offtake may take its request (min of demand and capacity), in topological order.

    Parameters
    ----------
    afghanistan : {"outside", "quota", "capped"}
        Afghanistan outside the ICWC limits, inside them with a quota, or with a negotiated cap on Qosh Tepa.
    afghan_quota_km3 : float
        Afghanistan's annual limit under "quota", km3/yr (default 2.1: the Afghan use implied by Protocol 566,
        marked unsourced).
    qosh_tepa_cap_m3s : float, optional
        The negotiated cap on Qosh Tepa under "capped", m3/s (this or ``qosh_tepa_cap_km3``).
    qosh_tepa_cap_km3 : float, optional
        The same as an annual volume, km3/yr.
    environment_first : bool
        Pass the terminals' requirements down before any offtake takes.
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

    # ---------------------------------------------------------------- the rule as data

    def plan(self, network: Network, demands, axis, inflows: np.ndarray, requests: np.ndarray, first_member: int = 0) -> Plan:
        """This rule for one run, as data for :func:`hydro.kernel.run`: inflows (members, T, inflow nodes) and
        requests (T, offtakes) in hm3 per month; `first_member`: the run's index of the first of these members (a
        block of a streamed run), so that anything drawn at random per member is the same in every block size.
        Does not change the rule."""
        run = RunFacts.of(network, demands, axis, inflows, requests, first_member)
        fixed = requests.astype(float)
        qt = network.qosh_tepa
        if self.afghanistan == "capped" and qt is not None:
            fixed[:, qt] = np.minimum(requests[:, qt], self._qt_cap(run))
        pools = SeasonalLimits(run, {"AFG": self.afghan_quota_km3} if self.afghanistan == "quota" else {}, run.takes_part(self.afghanistan))
        env_term, env_gross = _paths_to_terminals(network)
        K = len(network.offtake_idx)
        plan = dict(
            fixed=fixed, share_kind=np.full(K, FIXED, dtype=np.int64), **pools.arrays(np.ones((len(run.epoch_keys), 1))),
            env=demands.terminal.astype(float), env_cut=False, env_first=self.environment_first,
            env_term=env_term, env_gross=env_gross,
            kerki=-1, k_off=np.zeros(0, dtype=np.int64), k_state=np.zeros(0, dtype=np.int64), k_gross=np.zeros(0),
            k_middle=np.zeros(0, dtype=np.bool_), k_res=np.zeros(0, dtype=np.int64), k_term=0, k_term_gross=1.0,
            k_shares=np.zeros(2), proportional=False, group=np.zeros(K, dtype=np.bool_), iterations=0,
        )
        self.refine(plan, run)
        return Plan(**{name: (np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v) for name, v in plan.items()})

    def refine(self, plan: dict, run: RunFacts) -> None:
        """Subclasses put their own arithmetic into the plan's fields here (the base rule: nothing to add)."""

    def _qt_cap(self, run: RunFacts) -> np.ndarray:
        """(T,) Qosh Tepa's cap each month under "capped", hm3."""
        if self.qosh_tepa_cap_m3s is not None:
            return m3s_to_hm3(self.qosh_tepa_cap_m3s, run.axis.days)
        qt = run.network.qosh_tepa
        target = run.demands.annual[qt]
        scale = min(1.0, self.qosh_tepa_cap_km3 * 1000.0 / target) if target > 0 else 0.0
        return run.requests[:, qt] * scale


def _paths_to_terminals(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """For each offtake: the terminal its water reaches (position among terminals) and 1 / the path factor of the
    reach losses from below the offtake to it (inf when everything is lost on the way)."""
    term, gross = [], []
    for i in network.offtake_idx:
        factor, cur = 1.0, int(i)
        while network.downstream[cur] >= 0:
            factor *= 1.0 - network.loss_fraction[cur]
            cur = int(network.downstream[cur])
        term.append(network.position["terminal"][cur])
        gross.append(1.0 / factor if factor > 0 else np.inf)
    return np.array(term, dtype=np.int64), np.array(gross)


@dataclass
class RunFacts:
    """What a rule's plan needs about one run: the network, demands, time axis, natural inflows (members, T,
    inflow nodes) and requests (T, offtakes), hm3; each offtake's state; the run's seasons (``epoch`` (T,): the
    index of the month's season, a season being a water year's growing (Apr-Sep) or non-growing (Oct-Mar) months
    within the run)."""

    network: Network
    demands: object
    axis: object
    inflows: np.ndarray
    requests: np.ndarray
    states: np.ndarray
    epoch: np.ndarray
    epoch_keys: list[int]
    season_months: dict[int, np.ndarray]
    first_member: int = 0

    @classmethod
    def of(cls, network, demands, axis, inflows, requests, first_member: int = 0) -> RunFacts:
        states = np.array([network.state[i] for i in network.offtake_idx], dtype=object)
        season = axis.water_year * 2 + axis.growing
        epoch, keys = np.zeros(len(season), dtype=np.int64), []
        for t, key in enumerate(season):
            if not keys or key != keys[-1]:
                keys.append(int(key))
            epoch[t] = len(keys) - 1
        months = {key: np.flatnonzero(season == key) for key in set(keys)}
        return cls(network, demands, axis, inflows, requests, states, epoch, keys, months, int(first_member))

    @property
    def members(self) -> int:
        return self.inflows.shape[0]

    def takes_part(self, afghanistan: str) -> np.ndarray:
        """(K,) False for Afghan offtakes outside the regime (outside, or capped): they take their fixed ceiling."""
        return (self.states != "AFG") | (afghanistan == "quota")


class SeasonalLimits:
    """States' annual limits turned into seasonal limits (pools) that offtakes draw on.

    For state s with annual limit L_s (km3) and annual demand D_s (the sum of its offtakes' annual demands), in
    each season (growing Apr-Sep, non-growing Oct-Mar; a season cut by the run's ends counts its months only):

        quota ratio      q_s = min(1, cut x L_s / D_s)
        seasonal limit   S_s = cut x L_s x (demand of the state in the season's months) / D_s

    Each offtake k of state s may take at most ``q_s x request_k`` and never more than what remains of S_s; what
    it takes is drawn from S_s at once (:func:`hydro.kernel.run`). ``cut`` is 1 unless the rule gives a cut per
    season (ICWC: forecast / norm, at most 1). Only offtakes that take part in the rule draw on a pool.
    """

    def __init__(self, run: RunFacts, limits_km3: dict[str, float], takes_part: np.ndarray):
        demands = run.demands
        self.states = [s for s in limits_km3 if np.any(run.states == s)]
        self.pool = np.full(len(run.states), -1, dtype=np.int64)
        limit, annual, demand = [], [], []
        for p, s in enumerate(self.states):
            members = np.flatnonzero(run.states == s)
            self.pool[members[takes_part[members]]] = p
            limit.append(float(limits_km3[s]) * 1000.0)
            annual.append(float(demands.annual[members].sum()))
            demand.append([float(demands.offtake[np.ix_(run.season_months[key], members)].sum()) for key in run.epoch_keys])
        self.limit_hm3, self.annual = np.array(limit), np.array(annual)
        self.demand = np.array(demand).reshape(len(self.states), len(run.epoch_keys))
        self.epoch = run.epoch

    def arrays(self, cut: np.ndarray) -> dict[str, np.ndarray]:
        """The plan's pool fields, with cut (seasons, 1 or members)."""
        return dict(pool=self.pool, pool_limit=self.limit_hm3, pool_annual=self.annual, pool_demand=self.demand,
                    epoch=self.epoch, cut=np.asarray(cut, dtype=float))


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
    (perfect foresight) times (1 + forecast_error x e), e ~ N(0, 1) drawn per season from a stream of its own
    for each member (seeded by `seed` and the member's index, so a streamed run gives every member the errors an
    in-memory run does).
    ``cut_basis = "after_afghan_use"`` forecasts what reaches the ICWC states instead: F less what the Afghan
    offtakes outside the regime above the forecast point ask in the season (their fixed ceilings: the request, or
    Qosh Tepa's cap), against N less the same offtakes' asks without Qosh Tepa (the Afghan use the limits were
    set with), so that Qosh Tepa cuts every state's limit in proportion; the default, ``"natural"``, leaves it to
    fall on whoever is downstream. The reference gives no published basis (U).
    Each state's offtakes then draw against its seasonal limit (:class:`SeasonalLimits`): at most
    min(1, cut x L_s / D_s) of their request. With ``environment_first`` the delta is protected at
    (delta_km3 + sanitary_km3) x cut on the basin's monthly pattern of the requirement.
    """

    name = "icwc_quota"
    default_limits = {"TJK": 9.8, "TKM": 22.0, "UZB": 22.0}
    unsourced = False

    def __init__(self, limits_km3: dict | None = None, delta_km3: float = 4.2, sanitary_km3: float = 0.8,
                 forecast_error: float = 0.0, forecast_point: str = "kerki", seed: int = 0, cut_basis: str = "natural", **options):
        super().__init__(**options)
        if cut_basis not in CUT_BASES:
            raise ValueError(f"cut_basis: found {cut_basis!r}, expected " + did_you_mean(str(cut_basis), CUT_BASES))
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
        self.cut_basis = cut_basis

    def refine(self, plan: dict, run: RunFacts) -> None:
        from hydro.hydrology import climatology

        net = run.network
        if self.forecast_point in net.names:
            above = set(net.upstream_of(self.forecast_point))
            cols = [k for k, i in enumerate(net.inflow_idx) if net.names[i] in above]
        else:
            cols = list(range(len(net.inflow_idx)))  # no such gauge: the basin's whole natural flow
        natural = run.inflows[:, :, cols].sum(axis=2)  # (members, T)
        norm = climatology(net, run.axis, 1)[0][:, cols].sum(axis=1)  # (T,)
        if self.cut_basis == "after_afghan_use":  # what the Afghan offtakes outside the regime above the point ask
            above_nodes = set(net.upstream_of(self.forecast_point)) if self.forecast_point in net.names else set(net.names)
            outside = [k for k, i in enumerate(net.offtake_idx)
                       if run.states[k] == "AFG" and not run.takes_part(self.afghanistan)[k] and net.names[i] in above_nodes]
            older = [k for k in outside if k != net.qosh_tepa]  # the use the limits were set with
            natural = natural - plan["fixed"][:, outside].sum(axis=1)[None, :]
            norm = norm - plan["fixed"][:, older].sum(axis=1)
        seasons = len(run.epoch_keys)
        if self.forecast_error > 0:  # each member's errors from its own stream: the same in any block of a streamed run
            errors = np.stack([np.random.default_rng([self.seed, run.first_member + m]).standard_normal(seasons)
                               for m in range(run.members)], axis=1)  # (seasons, members)
        cut = np.ones((seasons, run.members))
        for e, key in enumerate(run.epoch_keys):  # one forecast per season
            months = run.season_months[key]
            season_norm = float(norm[months].sum())
            forecast = natural[:, months].sum(axis=1)
            if self.forecast_error > 0:
                forecast = forecast * np.maximum(1.0 + self.forecast_error * errors[e], 0.0)
            cut[e] = np.minimum(1.0, forecast / season_norm) if season_norm > 0 else 1.0
        limits = dict(self.limits_km3)
        if self.afghanistan == "quota":
            limits["AFG"] = self.afghan_quota_km3  # Afghanistan, when in the regime, is one of the states
        plan.update(SeasonalLimits(run, limits, run.takes_part(self.afghanistan)).arrays(cut))
        basin = net.terminal_requirement_annual
        scale = np.where(basin > 0, (self.delta_km3 + self.sanitary_km3) * 1000.0 / np.where(basin > 0, basin, 1.0), 0.0)
        plan.update(env=run.demands.terminal * scale[None, :], env_cut=True)


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

    def refine(self, plan: dict, run: RunFacts) -> None:
        net = run.network
        if self.split_point not in net.names:
            raise ScenarioError([Problem("<run>", "allocation.split_point", self.split_point, "a node of the basin: " + did_you_mean(self.split_point, net.names))])
        kerki = net.index(self.split_point)
        gross = {}  # offtake position -> 1 / path factor from Kerki
        middle = set()  # offtakes above the first reservoir below Kerki
        factor, cur, above_reservoir, terminal, terminal_gross = 1.0, kerki, True, 0, 1.0
        reservoirs = []
        while net.downstream[cur] >= 0:
            factor *= 1.0 - net.loss_fraction[cur]
            cur = int(net.downstream[cur])
            if net.kind[cur] == OFFTAKE:
                gross[net.position["offtake"][cur]] = 1.0 / factor
                if above_reservoir:
                    middle.add(net.position["offtake"][cur])
            elif cur in net.position["reservoir"]:
                reservoirs.append(net.position["reservoir"][cur])
                above_reservoir = False
            if net.kind[cur] == TERMINAL:
                terminal, terminal_gross = net.position["terminal"][cur], 1.0 / factor
        if not reservoirs:
            middle = set()  # no storage below Kerki: everything comes from W, nothing to rebalance
        states = list(self.shares)
        below = [(k, states.index(run.states[k])) for s in states for k in gross if run.states[k] == s]
        part = run.takes_part(self.afghanistan)
        share_kind = plan["share_kind"]
        for k, _ in below:
            if part[k]:
                share_kind[k] = KERKI
        plan.update(
            kerki=kerki, k_off=np.array([k for k, _ in below], dtype=np.int64), k_state=np.array([s for _, s in below], dtype=np.int64),
            k_gross=np.array([gross[k] for k, _ in below]), k_middle=np.array([k in middle for k, _ in below], dtype=np.bool_),
            k_res=np.array(reservoirs, dtype=np.int64), k_term=terminal, k_term_gross=terminal_gross,
            k_shares=np.array([float(self.shares[s]) for s in states]),
        )


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

    def refine(self, plan: dict, run: RunFacts) -> None:
        group = run.takes_part(self.afghanistan)
        plan["share_kind"][group] = PROPORTIONAL
        plan.update(proportional=True, group=group, iterations=self.iterations)


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
