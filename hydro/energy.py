"""Hydropower at the reservoirs with a plant: energy per month from a run's saved release and storage.

For each month and member, at a reservoir whose basin entry gives its plant (``normal_level``, ``dead_level``,
``tailwater_level``, ``plant_capacity``, ``turbine_discharge``, ``efficiency``):

- the level follows the storage linearly between (dead storage, dead level) and (capacity, normal level): no
  published level-storage curve was found, so the two published points are joined by a straight line; below the
  dead storage (a reservoir being filled) it runs linearly down to the tailwater level at zero storage;
- the head is the level at the month's mean storage (the storage at its start and at its end) less the tailwater
  level, never below zero;
- the turbines take the release up to ``turbine_discharge`` x the month's days; the rest passes them (``bypass``:
  spill over the dam and release beyond the turbines, counted apart and producing nothing);
- energy = density (1000 kg/m3) x g (9.81 m/s2) x turbined volume x head x efficiency, capped by
  ``plant_capacity`` x the month's hours; mean power = energy / hours.

Energy is a reader's figure: a pure function of the results file (release and storage, and the plant figures the
file's network layout carries), computed on demand, so it never touches the mass balance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

RHO_G = 1000.0 * 9.81  # N/m3: water density (kg/m3) x gravity (m/s2)
J_PER_GWH = 3.6e12
WINTER_MONTHS = (10, 11, 12, 1, 2, 3)  # October-March: Tajikistan's energy season (the irrigation season's complement)


def level_m(storage_hm3, plant: dict, dead_hm3: float, capacity_hm3: float):
    """Water level (m above sea level) at `storage_hm3`: linear between (dead storage, dead level) and (capacity,
    normal level); below the dead storage (a reservoir being filled), linear from (0, tailwater level), an empty
    reservoir giving no head, to (dead storage, dead level)."""
    storage = np.asarray(storage_hm3, dtype=float)
    span = max(capacity_hm3 - dead_hm3, 1e-9)
    above = plant["dead_level"] + (storage - dead_hm3) / span * (plant["normal_level"] - plant["dead_level"])
    below = plant["tailwater_level"] + storage / max(dead_hm3, 1e-9) * (plant["dead_level"] - plant["tailwater_level"])
    return np.where(storage >= dead_hm3, above, below)


def plant_month(release_hm3, storage_start_hm3, storage_end_hm3, days, plant: dict, dead_hm3: float, capacity_hm3: float) -> dict:
    """One plant's month (arrays broadcast): turbined and bypass volume (hm3), head (m), energy (GWh), mean power
    (MW). `plant` in model units: levels m, plant_capacity MW, turbine_discharge hm3/day, efficiency a fraction."""
    release = np.asarray(release_hm3, dtype=float)
    days = np.asarray(days, dtype=float)
    turbined = np.minimum(release, plant["turbine_discharge"] * days)
    mean_storage = 0.5 * (np.asarray(storage_start_hm3, dtype=float) + np.asarray(storage_end_hm3, dtype=float))
    head = np.maximum(level_m(mean_storage, plant, dead_hm3, capacity_hm3) - plant["tailwater_level"], 0.0)
    hours = days * 24.0
    energy = RHO_G * turbined * 1e6 * head * plant["efficiency"] / J_PER_GWH
    energy = np.minimum(energy, plant["plant_capacity"] * hours / 1000.0)
    return {"turbined_hm3": turbined, "bypass_hm3": release - turbined, "head_m": head, "energy_gwh": energy,
            "power_mw": energy * 1000.0 / hours}


def monthly(ds: xr.Dataset, layout=None) -> xr.Dataset:
    """Per plant of the results `ds` (its layout's ``hydropower``; `layout` for a counterpart run, which carries
    none of its own), month and member: energy_gwh, power_mw, head_m, turbined_hm3, bypass_hm3; dims (member, time,
    plant). Empty (no plant dimension) when the run has no plant or keeps no flow and storage there."""
    from hydro.results import saved_network

    layout = saved_network(ds) if layout is None else layout
    plants = [n for n in layout.hydropower if n in ds.node.values and {"flow", "storage"} <= set(ds.data_vars)]
    if not plants:
        return xr.Dataset()
    out = {k: [] for k in ("energy_gwh", "power_mw", "head_m", "turbined_hm3", "bypass_hm3")}
    for name in plants:
        i = layout.index(name)
        end = ds.storage.sel(node=name).transpose("member", "time").values
        first = ds.initial_storage.sel(node=name).values[:, None] if "initial_storage" in ds else end[:, :1]
        start = np.concatenate([first, end[:, :-1]], axis=1)
        month = plant_month(ds.flow.sel(node=name).transpose("member", "time").values, start, end, ds.days.values[None, :],
                            layout.hydropower[name], float(layout.dead_storage[i]), float(layout.capacity[i]))
        for k in out:
            out[k].append(month[k])
    units = {"energy_gwh": "GWh", "power_mw": "MW", "head_m": "m", "turbined_hm3": "hm3", "bypass_hm3": "hm3"}
    return xr.Dataset({k: (("member", "time", "plant"), np.stack(v, axis=-1), {"units": units[k]}) for k, v in out.items()},
                      coords={"member": ds.member.values, "time": ds.time.values, "plant": plants})


def summary(ds: xr.Dataset, months: xr.Dataset | None = None) -> pd.DataFrame:
    """Per plant: mean annual energy (TWh/yr) in winter (October-March), summer (April-September) and the year, the
    share of the release in April-September, the mean head (m) and the bypass (km3/yr); the band of the annual
    energy over the members (5th and 95th percentiles of each member's mean). `months`: :func:`monthly` of `ds`
    when the caller has it already."""
    m = monthly(ds) if months is None else months
    if not m:
        return pd.DataFrame()
    years = ds.sizes["time"] / 12.0
    winter = np.isin(m.time.dt.month.values, WINTER_MONTHS)
    rows = []
    for plant in m.plant.values:
        p = m.sel(plant=plant)
        release = ds.flow.sel(node=str(plant)).transpose("member", "time").values
        member_twh = p.energy_gwh.sum("time").values / years / 1000.0
        rows.append({
            "plant": str(plant),
            "energy_winter_twh": float(p.energy_gwh.isel(time=np.flatnonzero(winter)).sum("time").mean()) / years / 1000.0,
            "energy_summer_twh": float(p.energy_gwh.isel(time=np.flatnonzero(~winter)).sum("time").mean()) / years / 1000.0,
            "energy_twh": float(member_twh.mean()),
            "energy_twh_p05": float(np.quantile(member_twh, 0.05)), "energy_twh_p95": float(np.quantile(member_twh, 0.95)),
            "release_apr_sep_share": float(release[:, ~winter].sum() / max(release.sum(), 1e-9)),
            "mean_head_m": float(p.head_m.mean()),
            "bypass_km3": float(p.bypass_hm3.sum("time").mean()) / years / 1000.0,
        })
    return pd.DataFrame(rows).set_index("plant")


def _period_of(ds: xr.Dataset, period: str, m: xr.Dataset):
    """(monthly energy `m`, the period's mask (member, time), its member-years, node -> state), or None when the run
    has no plant or no member-year in the period."""
    from hydro.metrics import member_years, period_mask

    if not m:
        return None
    n = member_years(ds, period_mask(ds, period))
    if n == 0:
        return None
    mask = period_mask(ds, period).transpose("member", "time").values
    return m, mask, n, dict(zip((str(x) for x in ds.node.values), (str(x) for x in ds.state.values)))


def state_energy(ds: xr.Dataset, period: str = "all", months: xr.Dataset | None = None) -> pd.DataFrame:
    """Per state owning a plant: mean energy per year of `period` (TWh/yr) in winter (October-March), in summer
    (April-September) and in all, over the member-years of the period (the years of :func:`hydro.metrics.state_summary`);
    empty when the run has no plant."""
    got = _period_of(ds, period, monthly(ds) if months is None else months)
    if got is None:
        return pd.DataFrame()
    m, mask, n, state_of = got
    winter = np.isin(m.time.dt.month.values, WINTER_MONTHS)[None, :]
    rows = {}
    for plant in m.plant.values:
        gwh = m.energy_gwh.sel(plant=plant).transpose("member", "time").values
        row = rows.setdefault(state_of.get(str(plant), "?"), {"energy_winter_twh": 0.0, "energy_summer_twh": 0.0})
        row["energy_winter_twh"] += float(gwh[mask & winter].sum()) / n / 1000.0
        row["energy_summer_twh"] += float(gwh[mask & ~winter].sum()) / n / 1000.0
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["energy_twh"] = table.energy_winter_twh + table.energy_summer_twh
    table.index.name = "state"
    return table


def season_surplus(ds: xr.Dataset, season: tuple, period: str = "all", months: xr.Dataset | None = None, layout=None) -> pd.DataFrame:
    """Per state owning a plant: the plants' generation in the calendar months `season` (1-12), the demand on them
    in those months (the basin's ``energy_demand`` tables, as the layout carries them; none for a plant without a
    table) and the surplus, generation less demand, each in GWh per year of `period` (the years of
    :func:`state_energy`; `layout` as for :func:`monthly`); empty when the run has no plant."""
    from hydro.results import saved_network

    layout = saved_network(ds) if layout is None else layout
    got = _period_of(ds, period, monthly(ds, layout) if months is None else months)
    if got is None:
        return pd.DataFrame()
    m, mask, n, state_of = got
    in_season = np.isin(m.time.dt.month.values, season)[None, :]
    demand_of = layout.energy_demand_gwh
    rows = {}
    for plant in m.plant.values:
        gwh = m.energy_gwh.sel(plant=plant).transpose("member", "time").values
        row = rows.setdefault(state_of.get(str(plant), "?"), {"generation_gwh": 0.0, "demand_gwh": 0.0})
        row["generation_gwh"] += float(gwh[mask & in_season].sum()) / n
        row["demand_gwh"] += float(sum(demand_of.get(str(plant), [0.0] * 12)[k - 1] for k in season))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["surplus_gwh"] = table.generation_gwh - table.demand_gwh
    table.index.name = "state"
    return table


ENERGY_COLUMNS = ("energy_winter_twh", "energy_summer_twh", "energy_twh")


def with_energy(table: pd.DataFrame, ds: xr.Dataset, period: str = "all", months: xr.Dataset | None = None) -> pd.DataFrame:
    """A state summary (index state) with the energy of each state's plants beside its shortfall (TWh/yr over the
    same member-years; empty cells for a state without a plant); `table` itself when the run has no plant."""
    power = state_energy(ds, period, months)
    return table.join(power[list(ENERGY_COLUMNS)], how="left") if len(power) and len(table) else table
