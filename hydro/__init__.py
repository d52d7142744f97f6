"""amu-hydro: a monthly reservoir-and-channel allocation model of the Amu Darya.

Data flow: basin folder -> :mod:`hydro.basin` -> :mod:`hydro.network` -> :mod:`hydro.hydrology`
-> :mod:`hydro.simulate` -> :mod:`hydro.results` -> :mod:`hydro.metrics` -> :mod:`hydro.charts`.
Volumes inside the model are hm3 (million m3) per monthly step.
"""

__version__ = "0.1.0"
