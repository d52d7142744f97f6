"""Allocation rules: hand-made basins with answers worked out by hand, then properties on the shipped basin.

Tiny-basin convention: a demand of "1830 hm3/yr" with growing_share 1.0 asks 1830 * 31/183 = 310 hm3 in July.
"""

from __future__ import annotations

import numpy as np
import pytest

from hydro.allocation import RULES, make_rule, rule_options
from hydro.errors import ScenarioError
from hydro.hydrology import climatology
from hydro.metrics import state_summary
from hydro.runner import prepare, run_scenario
from hydro.scenario import load_scenario
from tests.conftest import RUNS, node, reach, run_tiny, write_basin

JULY_310 = {"demand": "1830 hm3/yr", "growing_share": 1.0}  # 310 hm3 in July 2001
LOWER = ["khorezm", "dashoguz", "karakalpakstan"]
MIDDLE = ["karakum_canal", "karshi_main_canal", "amu_bukhara", "lebap"]


def close(actual, expected, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _split_basin(tmp_path, loss=0.0, tkm_demand="1830 hm3/yr"):
    """src -> kerki (junction) -> u (UZB) --loss--> t (TKM) -> sea"""
    body = (node("src", "inflow") + node("kerki", "junction")
            + node("u", "offtake", state="UZB", **JULY_310)
            + node("t", "offtake", state="TKM", demand=tkm_demand, growing_share=1.0)
            + node("sea", "terminal")
            + reach("src", "kerki") + reach("kerki", "u") + reach("u", "t", loss_fraction=loss) + reach("t", "sea"))
    return write_basin(tmp_path, body)


# ------------------------------------------------------------------------------------------ hand-made basins


def test_kerki_split_halves_the_flow_when_both_states_are_short(tmp_path):
    """400 hm3 reach Kerki in July; UZB (u) and TKM (t) each ask 310. upstream_first: u 310, t 90.
    kerki_split: each state gets 200."""
    folder = _split_basin(tmp_path)
    first, net = run_tiny(folder, [[400.0]], start="2001-07")
    split, _ = run_tiny(folder, [[400.0]], start="2001-07", rule="kerki_split")
    u, t = net.index("u"), net.index("t")
    close(first["withdrawal"][0, 0, [u, t]], [310.0, 90.0])
    close(split["withdrawal"][0, 0, [u, t]], [200.0, 200.0])


def test_kerki_split_gives_a_state_what_the_other_does_not_need(tmp_path):
    """TKM asks only 155 (915 hm3/yr): it takes 155 and UZB may take 400 - 155 = 245."""
    folder = _split_basin(tmp_path, tkm_demand="915 hm3/yr")
    split, net = run_tiny(folder, [[400.0]], start="2001-07", rule="kerki_split")
    close(split["withdrawal"][0, 0, [net.index("u"), net.index("t")]], [245.0, 155.0])


def test_kerki_split_counts_losses_at_kerki(tmp_path):
    """With 20 % lost between u and t, TKM's 310 cost 310/0.8 = 387.5 at Kerki. Both are short: each state gets
    200 counted at Kerki; u takes 200, t may take 310 x 200/387.5 = 160, exactly the (400 - 200) x 0.8 left."""
    folder = _split_basin(tmp_path, loss=0.2)
    split, net = run_tiny(folder, [[400.0]], start="2001-07", rule="kerki_split")
    close(split["withdrawal"][0, 0, [net.index("u"), net.index("t")]], [200.0, 160.0])


def test_proportional_cuts_everyone_by_the_same_fraction(tmp_path):
    """src (400) -> a (310) --loss 0.1--> b (310) -> sea. The common ratio r satisfies
    (400 - 310 r) x 0.9 = 310 r, so r = 360 / (310 x 1.9) = 0.61121; both take 189.47."""
    body = (node("src", "inflow") + node("a", "offtake", **JULY_310) + node("b", "offtake", state="TKM", **JULY_310)
            + node("sea", "terminal") + reach("src", "a") + reach("a", "b", loss_fraction=0.1) + reach("b", "sea"))
    arrays, net = run_tiny(write_basin(tmp_path, body), [[400.0]], start="2001-07", rule="proportional")
    r = 360.0 / (310.0 * 1.9)
    close(arrays["withdrawal"][0, 0, [net.index("a"), net.index("b")]], [310 * r, 310 * r], rtol=1e-8)
    close(arrays["shortfall"][0, 0, net.index("a")] / 310.0, 1 - r, rtol=1e-8)


def _quota_basin(tmp_path):
    """src (annual_flow 1.2 km3/yr: norm 1200 x 31/365.25 = 101.848 hm3 in July) -> farm (UZB, 310 in July) -> sea"""
    body = (node("src", "inflow", annual_flow="1.2 km3/yr") + node("farm", "offtake", **JULY_310) + node("sea", "terminal")
            + reach("src", "farm") + reach("farm", "sea"))
    return write_basin(tmp_path, body)


def test_icwc_quota_limits_a_state_to_its_share_of_demand(tmp_path):
    """UZB's limit is half its annual demand (0.915 of 1.83 km3). July-September with 400 hm3 a month (wet: no cut):
    the farm may take half its request, 155, 155, 150."""
    folder = _quota_basin(tmp_path)
    arrays, net = run_tiny(folder, np.full((3, 1), 400.0), start="2001-07", rule="icwc_quota", options={"limits_km3": {"UZB": 0.915}})
    close(arrays["withdrawal"][0, :, net.index("farm")], [155.0, 155.0, 150.0])


def test_icwc_quota_cuts_limits_by_the_forecast(tmp_path):
    """Limit = the whole demand (1.83 km3), but the growing season brings 60 % of its norm (1200 x 183/365.25 =
    601.2 hm3): the cut is 0.6, so in July the farm may take 0.6 x 310 = 186 although 250 hm3 flow past (perfect
    foresight of the season; April-June and August-September share the rest of the 360.7 hm3)."""
    folder = _quota_basin(tmp_path)
    season = 0.6 * 1200.0 * 183 / 365.25
    inflow = np.full(6, (season - 250.0) / 5)
    inflow[3] = 250.0  # July
    arrays, net = run_tiny(folder, inflow[:, None], start="2001-04", rule="icwc_quota", options={"limits_km3": {"UZB": 1.83}})
    farm = arrays["withdrawal"][0, :, net.index("farm")]
    close(farm[3], 0.6 * 310.0)
    close(farm[[0, 1, 2, 4, 5]], inflow[[0, 1, 2, 4, 5]])  # the dry months: the river, not the quota, limits


def test_environment_first_leaves_the_delta_requirement(tmp_path):
    """src (100) -> farm (310) --loss 0.2--> sea (requirement 36.6 km3/yr... July share 40 hm3).
    With the environment first the farm must leave 40 / 0.8 = 50 in the river: it takes 50."""
    body = (node("src", "inflow") + node("farm", "offtake", **JULY_310)
            + node("sea", "terminal", requirement="236.0645 hm3/yr", growing_share=1.0)
            + reach("src", "farm") + reach("farm", "sea", loss_fraction=0.2))
    folder = write_basin(tmp_path, body)
    plain, net = run_tiny(folder, [[100.0]], start="2001-07")
    first, _ = run_tiny(folder, [[100.0]], start="2001-07", options={"environment_first": True})
    requirement = 236.0645 * 31 / 183
    close(plain["withdrawal"][0, 0, net.index("farm")], 100.0)
    close(first["withdrawal"][0, 0, net.index("farm")], 100.0 - requirement / 0.8, rtol=1e-9)
    close(first["inflow"][0, 0, net.index("sea")], requirement, rtol=1e-9)


# ------------------------------------------------------------------------------------------ options


def test_every_rule_knows_the_common_options():
    for name in RULES:
        assert {"afghanistan", "afghan_quota_km3", "qosh_tepa_cap_m3s", "qosh_tepa_cap_km3", "environment_first"} <= set(rule_options(name))


@pytest.mark.parametrize("options, message", [
    ({"afghanistn": "quota"}, "allocation.afghanistn: found <unknown option>, expected an option of rule 'icwc_quota': "),
    ({"afghanistan": "inside"}, "afghanistan: found 'inside', expected one of ['capped', 'outside', 'quota']"),
    ({"afghanistan": "capped"}, "needs exactly one of qosh_tepa_cap_m3s or qosh_tepa_cap_km3"),
    ({"limits_km3": {"UZB": -1}}, "limits_km3.UZB: found -1, expected an annual limit in km3 >= 0"),
])
def test_bad_rule_options_are_named(options, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        make_rule("icwc_quota", "run.toml", options)


# ------------------------------------------------------------------------------------------ the shipped basin


def _run(rule: str, scale: float = 1.0, withdrawal: float = 6.0, years: int = 3, **options):
    overrides = [("rule", rule), ("hydrology.scale", scale), ("qosh_tepa.withdrawal_km3", withdrawal), ("time.years", years),
                 ("analysis.warmup_years", 0)]  # every month kept: the arithmetic below is checked month by month
    overrides += [(f"allocation.{k}", v) for k, v in options.items()]
    return run_scenario(load_scenario(RUNS / "rules_compare.toml", overrides))


@pytest.fixture(scope="module")
def runs():
    return {(rule, scale): _run(rule, scale) for rule in RULES for scale in (1.0, 0.84)}


def test_no_rule_takes_more_than_demand_capacity_or_the_river(runs):
    for (rule, scale), ds in runs.items():
        off = ds.kind == "offtake"
        assert bool((ds.withdrawal <= ds.demand + 1e-9).where(off, True).all()), rule
        assert ds.attrs["mass_balance_max_rel"] < 1e-9, rule
        karshi = ds.withdrawal.sel(node="karshi_main_canal")
        assert bool((karshi <= 205 * ds.days * 0.0864 + 1e-9).all()), rule  # 205 m3/s canal head
        assert float(ds.flow.min()) >= -1e-9 and float(ds.storage.min()) >= -1e-9, rule


def _seasons(ds):
    return (ds.water_year * 2 + ds.growing_season).values


def test_quota_rules_never_exceed_a_states_seasonal_limit(runs):
    """Seasonal limit recomputed here: L x cut x (state's demand in the season) / (state's annual demand), with
    cut = min(1, season's natural inflow / its norm) (all inflows are above Kerki)."""
    scenario = load_scenario(RUNS / "rules_compare.toml", [("time.years", 3), ("hydrology.scale", 0.84), ("analysis.warmup_years", 0)])
    net = prepare(scenario).network
    norm = climatology(net, scenario.axis, 1)[0].sum(axis=1)
    for rule in ("icwc_quota", "protocol_566"):
        ds = runs[(rule, 0.84)]
        natural = ds.natural_inflow.sum("node").isel(member=0).values
        limits = RULES[rule].default_limits
        season = _seasons(ds)
        for key in np.unique(season):
            months = season == key
            cut = min(1.0, natural[months].sum() / norm[months].sum())
            for state in ("TJK", "UZB", "TKM"):
                sel = ds.sel(node=(ds.state == state) & (ds.kind == "offtake")).isel(member=0)
                annual = float(sel.demand.sum()) / 3.0  # three whole water years
                limit = limits[state] * 1000.0 * cut * float(sel.demand.isel(time=months).sum()) / annual
                took = float(sel.withdrawal.isel(time=months).sum())
                assert took <= limit * (1 + 1e-9) + 1e-6, (rule, state, key, took, limit)


def test_protocol_566_says_it_is_unsourced(runs):
    assert "UNSOURCED" in runs[("protocol_566", 1.0)].attrs["rule_note"]
    assert "rule_note" not in runs[("icwc_quota", 1.0)].attrs


def test_kerki_split_equal_shares_at_kerki_when_both_states_are_short(runs):
    """Months where both UZB and TKM are short below Kerki: their withdrawals counted at Kerki (grossed up for the
    Kerki -> Tuyamuyun loss) are equal, except when the state with less has its whole lower reach served: its
    remaining shortfall then lies in the middle reach, which Tuyamuyun's storage cannot reach (rule step 4)."""
    ds = runs[("kerki_split", 0.84)].isel(member=0)
    loss = float(ds.reach_loss.sel(node="lebap").sum() / ds.flow.sel(node="lebap").sum())
    gross = {n: (1 / (1 - loss) if n in LOWER else 1.0) for n in LOWER + MIDDLE}
    states = {"UZB": ["karshi_main_canal", "amu_bukhara", "khorezm", "karakalpakstan"], "TKM": ["karakum_canal", "lebap", "dashoguz"]}
    equal = exceptions = 0
    for t in range(ds.sizes["time"]):
        month = ds.isel(time=t)
        short = {s: float(month.shortfall.sel(node=ns).sum()) > 1e-6 for s, ns in states.items()}
        if not all(short.values()):
            continue
        at_kerki = {s: sum(float(month.withdrawal.sel(node=n)) * gross[n] for n in ns) for s, ns in states.items()}
        if abs(at_kerki["UZB"] - at_kerki["TKM"]) <= 1e-6 * max(at_kerki.values()):
            equal += 1
            continue
        low = min(at_kerki, key=at_kerki.get)
        assert float(month.shortfall.sel(node=[n for n in states[low] if n in LOWER]).sum()) < 1e-6, (t, at_kerki)
        exceptions += 1
    assert equal >= 10 and equal > exceptions, (equal, exceptions)


def test_upstream_first_dry_year_hits_the_lower_reach_harder(runs):
    ds = runs[("upstream_first", 0.84)]
    pct = {name: float(ds.shortfall.sel(node=names).sum() / ds.demand.sel(node=names).sum()) for name, names in (("lower", LOWER), ("middle", MIDDLE))}
    assert pct["lower"] > pct["middle"], pct


def test_icwc_quota_dry_year_shares_the_shortfall_evenly(runs):
    table = state_summary(runs[("icwc_quota", 0.84)])
    assert abs(table.loc["UZB", "shortfall_pct"] - table.loc["TKM", "shortfall_pct"]) < 2.0, table
    first = state_summary(runs[("upstream_first", 0.84)])
    assert abs(first.loc["UZB", "shortfall_pct"] - first.loc["TKM", "shortfall_pct"]) > abs(table.loc["UZB", "shortfall_pct"] - table.loc["TKM", "shortfall_pct"])


def test_proportional_gives_every_state_the_same_percentage(runs):
    table = state_summary(runs[("proportional", 0.84)]).drop("AFG")
    close(table.shortfall_pct.values, table.shortfall_pct.values[0], rtol=1e-6, atol=1e-6)


def test_afghanistan_positions():
    outside = _run("upstream_first", 0.84, withdrawal=8.0, years=2)
    quota = _run("upstream_first", 0.84, withdrawal=8.0, years=2, afghanistan="quota", afghan_quota_km3=6.0)
    capped = _run("upstream_first", 0.84, withdrawal=8.0, years=2, afghanistan="capped", qosh_tepa_cap_m3s=150.0)
    capped_km3 = _run("upstream_first", 0.84, withdrawal=8.0, years=2, afghanistan="capped", qosh_tepa_cap_km3=4.0)
    afg = lambda ds: float(ds.withdrawal.sel(node=(ds.state == "AFG") & (ds.kind == "offtake")).sum()) / 2000.0  # noqa: E731
    qt = lambda ds: ds.withdrawal.sel(node="qosh_tepa").isel(member=0)  # noqa: E731
    close(afg(outside), 10.0, rtol=1e-6)  # 8 km3 Qosh Tepa + 2 km3 other Afghan use, all taken
    assert afg(quota) <= 6.0 + 1e-6
    assert bool((qt(capped) <= 150 * capped.days * 0.0864 + 1e-9).all())
    close(float(qt(capped_km3).sum()) / 2000.0, 4.0, rtol=1e-6)
    # what Afghanistan gives up flows on to Uzbekistan and Turkmenistan
    short = lambda ds: float(state_summary(ds).loc[["UZB", "TKM"], "shortfall_km3"].sum())  # noqa: E731
    assert short(capped_km3) < short(outside) and short(quota) < short(outside)


def test_environment_first_meets_the_delta_in_a_dry_year():
    plain = _run("upstream_first", 0.84, years=2)
    first = _run("upstream_first", 0.84, years=2, environment_first=True)
    unmet = lambda ds: float((ds.requirement - ds.inflow).clip(min=0).sel(node="aral_sea").sum())  # noqa: E731
    assert unmet(plain) > 100.0  # hm3 over two years
    assert unmet(first) < 1e-6


def test_icwc_cut_after_afghan_use_spreads_qosh_tepa_over_every_state():
    """cut_basis = "after_afghan_use", mean year: each season's cut is (N - A) / (N - A_old), with N the natural
    flow above Kerki, A what the Afghan offtakes ask (Qosh Tepa included) and A_old without Qosh Tepa. Tajikistan
    (limit 9.8 = its demand, upstream of every cut) then takes its request x the cut, month by month; without Qosh
    Tepa the cut is 1 and the basis changes nothing."""
    base = [("time.years", 2), ("rule", "icwc_quota"), ("allocation.cut_basis", "after_afghan_use"), ("analysis.warmup_years", 0)]
    scenario = load_scenario(RUNS / "mean_year.toml", base)
    inputs = prepare(scenario)
    net, axis = inputs.network, scenario.axis
    above = set(net.upstream_of("kerki"))
    natural = climatology(net, axis, 1)[0][:, [k for k, i in enumerate(net.inflow_idx) if net.names[i] in above]].sum(axis=1)
    requests = np.minimum(inputs.demands.offtake, inputs.demands.capacity[None, :] * axis.days[:, None])
    afghan = [k for k, i in enumerate(net.offtake_idx) if net.state[i] == "AFG"]
    qt = net.qosh_tepa
    season = axis.water_year * 2 + axis.growing
    expected = np.zeros(axis.months)
    tjk = [k for k, i in enumerate(net.offtake_idx) if net.state[i] == "TJK"]
    for key in np.unique(season):
        m = season == key
        a, a_old = requests[m][:, afghan].sum(), requests[m][:, [k for k in afghan if k != qt]].sum()
        cut = min(1.0, (natural[m].sum() - a) / (natural[m].sum() - a_old))
        expected[m] = requests[m][:, tjk].sum(axis=1) * cut
    ds = run_scenario(scenario)
    got = ds.withdrawal.sel(node=[net.names[net.offtake_idx[k]] for k in tjk]).sum("node").isel(member=0).values
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert got.sum() < requests[:, tjk].sum() * 0.95  # Qosh Tepa's 6 km3 cuts Tajikistan too
    without = [*base, ("qosh_tepa.withdrawal_km3", 0.0)]
    natural_basis = [("time.years", 2), ("rule", "icwc_quota"), ("qosh_tepa.withdrawal_km3", 0.0), ("analysis.warmup_years", 0)]
    np.testing.assert_array_equal(run_scenario(load_scenario(RUNS / "mean_year.toml", without)).withdrawal.values,
                                  run_scenario(load_scenario(RUNS / "mean_year.toml", natural_basis)).withdrawal.values)


def test_icwc_cut_basis_is_checked():
    with pytest.raises(ScenarioError, match="cut_basis: found 'afgan'"):
        load_scenario(RUNS / "mean_year.toml", [("rule", "icwc_quota"), ("allocation.cut_basis", "afgan")])


def test_icwc_forecast_errors_are_the_same_in_any_block_of_members():
    """A streamed run simulates blocks of members; each member's forecast errors come from its own stream, so two
    blocks give what one call gives (before, every block drew the errors of members 0, 1, ... again)."""
    from hydro.simulate import simulate

    options = [("rule", "icwc_quota"), ("allocation.forecast_error", 0.3), ("allocation.seed", 5),
               ("hydrology.kind", "stochastic"), ("hydrology.members", 6), ("time.years", 3)]
    scenario = load_scenario(RUNS / "mean_year.toml", options)
    inputs = prepare(scenario)
    args = (inputs.network, inputs.inflows, inputs.demands, scenario.axis)

    def run(inflows, first=0, error=True):
        rule = inputs.rule if error else make_rule("icwc_quota", options={"seed": 5})
        return simulate(inputs.network, inflows, inputs.demands, scenario.axis, rule, keep=("withdrawal",), first_member=first)["withdrawal"]

    whole = run(args[1])
    blocks = np.concatenate([run(args[1][:2], 0), run(args[1][2:], 2)])
    np.testing.assert_array_equal(whole, blocks)
    assert not np.allclose(whole, run(args[1], error=False))  # the errors do change the withdrawals
