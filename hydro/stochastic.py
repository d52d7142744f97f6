"""Stochastic annual flows for every inflow node, and the year types they define.

Method: a **multisite lag-one Markov model** of log annual flows (Matalas, N. C., 1967, Mathematical assessment of
synthetic hydrology, Water Resources Research 3(4), 937-945), in water years (October-September), disaggregated to
months with each node's mean regime (fixed monthly fragments: the regime's share of the year).

For node i with mean annual flow m_i and coefficient of variation c_i, log flows are normal with
sigma_i^2 = ln(1 + c_i^2) and mu_i = ln(m_i) - sigma_i^2 / 2, so the flows themselves keep the mean and the CV.
The target lag-1 autocorrelation r and cross-correlation k of the *flows* are turned into those of the *log* flows
with the lognormal identities

    phi_i  = ln(1 + r (exp(sigma_i^2) - 1)) / sigma_i^2
    K_ij   = ln(1 + k sqrt((exp(sigma_i^2) - 1)(exp(sigma_j^2) - 1))) / (sigma_i sigma_j)

and the standardised log flows follow z_t = A z_(t-1) + B e_t with A = diag(phi), B B' = K - A K A, e_t ~ N(0, I),
starting from the stationary distribution z_0 ~ N(0, K).

Year types: a water year's natural flow at the forecast point (Kerki) is compared with a reference sample of
100,000 stationary years from the same model (seed fixed): its exceedance probability is the share of reference
years with at least that flow. Defaults: dry when exceeded in 75 % of years or more, wet when in 25 % or fewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hydro.network import Network

REFERENCE_YEARS = 100_000
REFERENCE_SEED = 20_240_401
DRY_EXCEEDANCE = 0.75
WET_EXCEEDANCE = 0.25
def named_exceedance(year: str, dry_exceedance: float, wet_exceedance: float) -> float:
    """The exceedance probability of the one year a run asks for by name: the middle of its class as the run's
    analysis defines the classes ("dry": halfway from dry_exceedance to 1, e.g. 0.875 for dry years at >= 0.75;
    "wet": halfway from 0 to wet_exceedance; "normal": 0.5)."""
    return {"dry": (1.0 + dry_exceedance) / 2.0, "normal": 0.5, "wet": wet_exceedance / 2.0}[year]


@dataclass(frozen=True)
class Parameters:
    """Targets of the generator for each inflow node (in network.inflow_idx order): mean (hm3/yr), CV, lag-1 and
    cross-correlation of annual flows."""

    mean: np.ndarray
    cv: np.ndarray
    lag1: float
    cross_correlation: float

    @classmethod
    def of(cls, network: Network, cv: float | None = None, lag1: float | None = None, cross_correlation: float | None = None):
        """The basin's parameters; the arguments override them (a run file's hydrology.annual_cv etc.)."""
        basin = network.basin
        nodes = [basin.nodes[network.names[i]] for i in network.inflow_idx]
        cvs = np.array([cv if cv is not None else n.figure("annual_cv", 0.15) for n in nodes], dtype=float)
        st = basin.stochastic
        return cls(
            mean=network.inflow_annual.astype(float),
            cv=cvs,
            lag1=float(lag1 if lag1 is not None else (st["lag1"].value if "lag1" in st else 0.0)),
            cross_correlation=float(cross_correlation if cross_correlation is not None else (st["cross_correlation"].value if "cross_correlation" in st else 0.0)),
        )

    def log_moments(self):
        """(mu, sigma, phi, K): log-space mean, standard deviation, lag-1 and correlation matrix."""
        s2 = np.log1p(self.cv ** 2)
        sigma = np.sqrt(s2)
        with np.errstate(divide="ignore"):
            mu = np.log(self.mean) - s2 / 2  # a node with no flow: exp(-inf) = 0 in every year
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = np.where(s2 > 0, np.log1p(self.lag1 * np.expm1(s2)) / np.where(s2 > 0, s2, 1.0), 0.0)
            g = np.sqrt(np.expm1(s2))
            K = np.log1p(self.cross_correlation * np.outer(g, g)) / np.outer(sigma, sigma)
        K = np.where(np.isfinite(K), K, 0.0)
        np.fill_diagonal(K, 1.0)
        return mu, sigma, phi, K


def _sqrtm_psd(M: np.ndarray) -> np.ndarray:
    """A matrix B with B B' = M (M symmetric positive semi-definite; tiny negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((M + M.T) / 2)
    return v * np.sqrt(np.clip(w, 0.0, None))


def annual_flows(params: Parameters, members: int, years: int, seed: int) -> np.ndarray:
    """(members, years, nodes) annual flows in hm3/yr, water year by water year."""
    rng = np.random.default_rng(seed)
    mu, sigma, phi, K = params.log_moments()
    A = np.diag(phi)
    B = _sqrtm_psd(K - A @ K @ A)
    L0 = _sqrtm_psd(K)
    n = len(mu)
    z = np.empty((members, years, n))
    z[:, 0] = rng.standard_normal((members, n)) @ L0.T
    for t in range(1, years):
        z[:, t] = z[:, t - 1] * phi + rng.standard_normal((members, n)) @ B.T
    return np.exp(mu + sigma * z)


@lru_cache(maxsize=16)
def _reference(mean: tuple, cv: tuple, cross: float, columns: tuple) -> np.ndarray:
    params = Parameters(np.array(mean), np.array(cv), 0.0, cross)
    flows = annual_flows(params, REFERENCE_YEARS, 1, REFERENCE_SEED)[:, 0, :]
    return np.sort(flows[:, list(columns)].sum(axis=1))


def reference_sample(params: Parameters, columns: list[int]) -> np.ndarray:
    """Sorted annual flows (hm3/yr) at the point fed by inflow `columns`, from 100,000 stationary years."""
    return _reference(tuple(params.mean), tuple(params.cv), params.cross_correlation, tuple(columns))


def exceedance(flow, reference: np.ndarray) -> np.ndarray:
    """Share of reference years with at least `flow` (any shape), in [0, 1]."""
    flow = np.asarray(flow, dtype=float)
    return 1.0 - np.searchsorted(reference, flow, side="left") / len(reference)


def flow_at_exceedance(p: float, reference: np.ndarray) -> float:
    """The annual flow exceeded in a share `p` of years."""
    return float(np.quantile(reference, 1.0 - p))


def classify(p_exceed, dry: float = DRY_EXCEEDANCE, wet: float = WET_EXCEEDANCE) -> np.ndarray:
    """'dry' where exceedance >= dry, 'wet' where <= wet, else 'normal'."""
    p = np.asarray(p_exceed, dtype=float)
    return np.where(p >= dry, "dry", np.where(p <= wet, "wet", "normal")).astype(object)


def achieved_statistics(flows: np.ndarray, names: list[str], params: Parameters):
    """Target vs achieved mean (km3/yr), CV, lag-1 and mean cross-correlation with the other nodes, per node,
    from generated annual flows (members, years, nodes)."""
    import pandas as pd

    m, y, n = flows.shape
    flat = flows.reshape(m * y, n)
    lag = np.array([np.corrcoef(flows[:, :-1, i].ravel(), flows[:, 1:, i].ravel())[0, 1] for i in range(n)])
    corr = np.corrcoef(flat.T)
    cross = (corr.sum(axis=1) - 1.0) / max(n - 1, 1)
    return pd.DataFrame({
        "mean_target_km3": params.mean / 1000.0,
        "mean_km3": flat.mean(axis=0) / 1000.0,
        "cv_target": params.cv,
        "cv": flat.std(axis=0) / flat.mean(axis=0),
        "lag1_target": params.lag1,
        "lag1": lag,
        "cross_target": params.cross_correlation,
        "cross": cross,
    }, index=pd.Index(names, name="inflow node"))
