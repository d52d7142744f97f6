"""A first tiny basin: inflow -> offtake -> terminal, by hand."""

import numpy as np

from tests.conftest import run_tiny, write_basin


def test_offtake_takes_its_demand_and_passes_the_rest(tmp_path):
    """
    src (inflow, 100 hm3/month) -> farm (offtake, 365.25 km3/yr... no: 12 x demand) -> sea (terminal)
    """
    folder = write_basin(tmp_path, """
        [[node]]
        name = "src"
        kind = "inflow"
        regime = "uniform"
        annual_flow = { value = "1.2 km3/yr", source = "T" }
        [[node]]
        name = "farm"
        kind = "offtake"
        state = "UZB"
        demand = { value = "0.3652 km3/yr", source = "T" }
        growing_share = { value = 0.5, source = "T" }
        [[node]]
        name = "sea"
        kind = "terminal"
        [[reach]]
        from = "src"
        to = "farm"
        [[reach]]
        from = "farm"
        to = "sea"
    """)
    arrays, net = run_tiny(folder, np.full((12, 1), 100.0))
    farm, sea = net.index("farm"), net.index("sea")
    assert np.all(arrays["withdrawal"][0, :, farm] <= 100.0)
    np.testing.assert_allclose(arrays["inflow"][0, :, sea] + arrays["withdrawal"][0, :, farm], 100.0)
