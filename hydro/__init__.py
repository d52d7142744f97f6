"""amu-hydro: a monthly reservoir-and-channel allocation model of the Amu Darya.

Data flow: basin folder -> :mod:`hydro.basin` -> :mod:`hydro.network` -> :mod:`hydro.hydrology`
-> :mod:`hydro.simulate` -> :mod:`hydro.results` -> :mod:`hydro.metrics` -> :mod:`hydro.charts`.
Volumes inside the model are hm3 (million m3) per monthly step.
"""

__version__ = "0.1.0"


def open_sweep(folder):
    """Open a sweep folder (written by ``hydro sweep``) lazily as one xarray.Dataset; see :mod:`hydro.sweep`."""
    from hydro.sweep import open_sweep as _open

    return _open(folder)
