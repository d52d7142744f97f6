"""The one table of output variables: name, long name, units, CF attributes and role in the mass balance.

The simulator (:mod:`hydro.simulate`), the results writer and reader (:mod:`hydro.results`), the mass-balance
check (:mod:`hydro.balance`) and ``hydro check`` (:mod:`hydro.integrity`) all read this table, so a new output
variable is one line here (plus the arithmetic that fills it).

Roles in the balance of node i and month t (all hm3 per calendar month)::

    natural_inflow + inflow = flow + withdrawal + evaporation + (storage[t] - storage[t-1])

- ``routed``: filled by the routing of a month and checked by the balance (the nine terms above, plus the
  return flows, reach losses and spill that the routing and reach checks use);
- ``derived``: computed from the routed variables and the inputs after the loop (demand, shortfall, canal loss,
  requirement); reported, not part of the balance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputVariable:
    """One output variable of a run: dims (member, time, node) in memory, (time, member, node) on disk."""

    name: str
    long_name: str
    role: str  # "routed" (in the mass balance) or "derived"
    units: str = "hm3"  # UDUNITS: cubic hectometre = 10^6 m3
    cell_methods: str = "time: sum"  # a volume over the month; storage is a value at the month's end

    def attrs(self) -> dict[str, str]:
        """CF attributes of the variable on disk."""
        return {"long_name": self.long_name, "units": self.units, "cell_methods": self.cell_methods}


OUTPUT_VARIABLES: tuple[OutputVariable, ...] = (
    OutputVariable("natural_inflow", "natural inflow generated at the node", "routed"),
    OutputVariable("inflow", "water arriving from the reaches above (after their losses) and return flows sent to the node", "routed"),
    OutputVariable("flow", "water leaving the node into its downstream reach (reservoirs: release + spill)", "routed"),
    OutputVariable("demand", "water asked for by the offtake", "derived"),
    OutputVariable("withdrawal", "water taken by the offtake", "routed"),
    OutputVariable("shortfall", "demand not met (demand - withdrawal)", "derived"),
    OutputVariable("return_flow", "part of the withdrawal that returns (to return_to)", "routed"),
    OutputVariable("canal_loss", "part of the withdrawal lost in the canal before the fields (conveyance loss)", "derived"),
    OutputVariable("reach_loss", "seepage and evaporation on the reach leaving the node", "routed"),
    OutputVariable("evaporation", "evaporation and seepage from the reservoir", "routed"),
    OutputVariable("storage", "reservoir storage at the end of the month", "routed", cell_methods="time: point"),
    OutputVariable("spill", "water spilled above reservoir capacity", "routed"),
    OutputVariable("requirement", "environmental requirement of a terminal (Aral Sea delta)", "derived"),
)

BY_NAME: dict[str, OutputVariable] = {v.name: v for v in OUTPUT_VARIABLES}
NAMES: tuple[str, ...] = tuple(v.name for v in OUTPUT_VARIABLES)
ROUTED: tuple[str, ...] = tuple(v.name for v in OUTPUT_VARIABLES if v.role == "routed")

# what a report and leverage need of a counterpart run (the same scenario without Qosh Tepa, or in a dry year)
COUNTERPART: tuple[str, ...] = ("demand", "withdrawal", "shortfall", "inflow", "requirement")

# what a summary keeps (sweeps by default, ``hydro run --detail summary``): these variables, float32, at offtakes,
# reservoirs, terminals and the gauges; no natural inflow (nil at these nodes)
SUMMARY_VARIABLES: tuple[str, ...] = ("demand", "withdrawal", "shortfall", "flow", "inflow", "storage", "requirement")
SUMMARY_KINDS: tuple[str, ...] = ("offtake", "reservoir", "terminal")
SUMMARY_GAUGES: tuple[str, ...] = ("kerki",)


def summary_nodes(network) -> list[int]:
    """Indices of the nodes a summary keeps: offtakes, reservoirs, terminals and the gauges (Kerki)."""
    return [i for i, (name, kind) in enumerate(zip(network.names, network.kind_name)) if kind in SUMMARY_KINDS or name in SUMMARY_GAUGES]
