"""Learned reward surrogates: fit a cheap model of an expensive reward term, with its uncertainty.

Chen et al. (arXiv 2406.02616) train PPO against a reward surrogate model (RSM) instead of evaluating the
LLM at every step. This package holds

* the interface (:class:`RewardSurrogate`: ``fit``, ``predict -> (mean, std)``, ``save``, ``load``) and
  :func:`load_surrogate`;
* :class:`PaperMLP`, the paper's surrogate (2 -> 128 -> 128 -> 1 ReLU MLP on raw inputs, MSE, Adam);
* :class:`EnsembleSurrogate`, a bootstrapped, standardised, early-stopped ensemble whose member spread is
  the uncertainty;
* :func:`fidelity_report` / :func:`fidelity_markdown` (MAE, RMSE, R², calibration);
* :class:`SurrogateQualityModel`, :func:`sample_grid`, :func:`fit_on_budget`: surrogates of a quality
  model, fitted from a counted budget of real evaluations, that plug into the environments;
* :func:`surrogate_speedup`: seconds per live evaluation against seconds per surrogate evaluation.

Importing the package does not import torch; only ``fit`` (and :meth:`PaperMLP.to_torch`) does.
"""

from splitgym.surrogates.base import FitReport, RewardSurrogate, SurrogateMetadata, load_surrogate
from splitgym.surrogates.ensemble import EnsembleSurrogate
from splitgym.surrogates.fidelity import fidelity_markdown, fidelity_metrics, fidelity_report
from splitgym.surrogates.mlp import PaperMLP
from splitgym.surrogates.quality import SurrogateQualityModel, fit_on_budget, make_surrogate, sample_grid
from splitgym.surrogates.speed import SPEEDUP_TARGET, surrogate_speedup

__all__ = [
    "SPEEDUP_TARGET",
    "EnsembleSurrogate",
    "FitReport",
    "PaperMLP",
    "RewardSurrogate",
    "SurrogateMetadata",
    "SurrogateQualityModel",
    "fidelity_markdown",
    "fidelity_metrics",
    "fidelity_report",
    "fit_on_budget",
    "load_surrogate",
    "make_surrogate",
    "sample_grid",
    "surrogate_speedup",
]
