"""What a run's figures are about, in words: its years, its dry years, its overrides.

One definition of a dry year serves every command (run, compare, sweep, report, leverage, sensitivity): a water
year is *dry* when its natural flow at Kerki is exceeded in at least ``analysis.dry_exceedance`` of years (0.75
by default; the exceedance is read against the stochastic reference of the basin, 100,000 years). A run that has
such years measures its dry-year figures on them; a run that has none (the mean year, a single replayed year) is
paired with a counterpart run of one named dry year, the middle of the dry class
(:func:`hydro.stochastic.named_exceedance`: 0.875 for 0.75), every year. The labels below are written from the
results' own attributes, so a file read later says the same.
"""

from __future__ import annotations

import json

from hydro.stochastic import named_exceedance


def dry_class(dry_exceedance: float) -> str:
    """The dry class, as written beside a figure over a run's own dry years."""
    return f"dry: water years whose natural flow at Kerki is exceeded in >= {dry_exceedance:.0%} of years"


def named_dry_year(dry_exceedance: float) -> str:
    """The one dry year of a counterpart run, as written beside its figures."""
    p = named_exceedance("dry", dry_exceedance, 0.25)
    return (f"dry: one year whose natural flow at Kerki is exceeded in {p:.1%} of years (the middle of the dry class, "
            f">= {dry_exceedance:.0%}), every year")


def dry_basis(ds, others: dict | None = None) -> str:
    """How the dry-year figures of results `ds` are measured: its own dry years, or the counterpart dry year when
    `others` holds one (a run without dry years)."""
    p = float(ds.year_type.attrs.get("dry_exceedance", 0.75)) if "year_type" in ds.coords else 0.75
    return named_dry_year(p) if others and "dry" in others else dry_class(p)


def years_label(ds) -> str:
    """What the run's own years are ("the mean year", "a dry year", "stochastic years"...), from its attributes."""
    kind = ds.attrs.get("hydrology", "")
    doc = json.loads(ds.attrs.get("run_config_json", "{}"))
    h = doc.get("hydrology", {}) if isinstance(doc.get("hydrology", {}), dict) else {}
    scale = float(ds.attrs.get("hydrology_scale", 1.0))
    scaled = f", every inflow x {scale:g}" if scale != 1.0 else ""
    if kind == "climatology":
        return ("the mean year" if scale == 1.0 else f"the mean year x {scale:g}") + (", repeated" if ds.sizes.get("time", 0) > 12 else "")
    if kind == "year_type":
        p = float(ds.attrs.get("year_type_exceedance", 0.5))
        what = f"a {h.get('year', 'dry')} year" if h.get("exceedance") is None else "one year"
        return f"{what} ({p:.1%} exceedance at Kerki), every year{scaled}"
    if kind == "stochastic":
        return f"stochastic years ({ds.sizes.get('member', 1)} members){scaled}"
    if kind == "historical":
        return f"recorded years {ds.attrs.get('replay', '')} replayed{scaled}"
    if kind == "series":
        return f"the years of the inflow series{scaled}"
    return kind or "the run's years"


def overrides_text(ds) -> str:
    """The --set overrides a run was made with, as 'key=value, ...' (empty when none); `ds` a Dataset or its attrs."""
    try:
        overrides = json.loads(getattr(ds, "attrs", ds).get("overrides_json", "[]"))
    except ValueError:
        return ""
    return ", ".join(f"{k}={v}" for k, v in overrides)
