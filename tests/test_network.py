"""Compiling the basin: topological order, switches, paths along the river."""

import numpy as np

from hydro.network import JUNCTION, RESERVOIR, compile_network, topological_order


def test_every_node_comes_after_everything_upstream_of_it(amu_basin):
    order = topological_order(amu_basin)
    pos = {n: i for i, n in enumerate(order)}
    for r in amu_basin.reaches:
        assert pos[r.source_node] < pos[r.target_node]
    for node in amu_basin.nodes.values():  # return flows arrive before their receiver is routed
        if node.settings.get("return_to"):
            assert pos[node.name] < pos[node.settings["return_to"]]


def test_rogun_is_a_junction_unless_switched_on(amu_basin):
    off = compile_network(amu_basin)
    on = compile_network(amu_basin, {"rogun": True})
    assert off.kind[off.index("rogun")] == JUNCTION and on.kind[on.index("rogun")] == RESERVOIR
    assert len(on.reservoir_idx) == len(off.reservoir_idx) + 1


def test_path_and_upstream(amu_basin):
    net = compile_network(amu_basin)
    assert net.path("kerki", "tuyamuyun") == ["kerki", "karakum_canal", "karshi_main_canal", "amu_bukhara", "lebap"]
    above = set(net.upstream_of("kerki"))
    assert {"panj_upper", "kokcha", "kunduz", "vakhsh", "kafirnigan", "surkhandarya", "sherabad", "qosh_tepa"} <= above
    assert "karakum_canal" not in above and "kerki" not in above


def test_tuyamuyun_serves_the_lower_reach_grossed_up_for_losses(amu_basin):
    net = compile_network(amu_basin)
    r = list(net.reservoir_idx).index(net.index("tuyamuyun"))
    served = {net.names[i]: w for i, w in enumerate(net.reservoir_support_weight[r]) if w > 0}
    assert set(served) == {"khorezm", "dashoguz", "karakalpakstan", "aral_sea"}
    loss = net.loss_fraction[net.index("karakalpakstan")]
    np.testing.assert_allclose(served["aral_sea"], 1 / (1 - loss))
    np.testing.assert_allclose(served["khorezm"], 1.0)
