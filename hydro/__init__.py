"""amu-hydro: a monthly reservoir-and-channel allocation model of the Amu Darya.

Data flow: basin folder -> :mod:`hydro.basin` -> :mod:`hydro.network` -> :mod:`hydro.hydrology`
-> :mod:`hydro.simulate` -> :mod:`hydro.results` -> :mod:`hydro.metrics` -> :mod:`hydro.charts`.
Volumes inside the model are hm3 (million m3) per monthly step.

The Python interface (:mod:`hydro.api`) is importable from here: ``hydro.run``, ``hydro.run_with_counterparts``,
``hydro.compare``, ``hydro.sweep``, ``hydro.open_results``, ``hydro.open_sweep``, ``hydro.summary``,
``hydro.by_state``, ``hydro.judge``, ``hydro.admissible``, ``hydro.year_by_year``. They are loaded on first use,
so that ``import hydro`` (and the command line's ``--help``) stays fast.
"""

__version__ = "0.1.0"

_API = ("run", "run_with_counterparts", "compare", "sweep", "open_results", "open_sweep", "summary", "by_state",
        "judge", "admissible", "year_by_year")
__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        from hydro import api

        return getattr(api, name)
    raise AttributeError(f"module 'hydro' has no attribute {name!r}")
