"""A bootstrapped ensemble of MLP reward surrogates: a prediction and an uncertainty.

The design follows mbrl-lib's ensembles (Chua et al. 2018 PETS, Janner et al. 2019 MBPO) without its
package:

* a random ``val_fraction`` of the rows (default 20 %, mbrl-lib's ``validation_ratio``) is held out for
  early stopping; the rest is the training set;
* inputs and targets are standardised with the training set's mean and standard deviation (a constant
  column is left unscaled); the constants are saved with the weights;
* each of ``members`` MLPs (default 5, ``hidden=(128, 128)`` ReLU, the paper's width) trains with Adam and
  MSE on its own bootstrap resample of the training set (``n_train`` rows drawn with replacement) and
  its own initialisation and mini-batch order;
* after every epoch each member is scored on the validation rows; it keeps the weights of its best epoch,
  and training stops once every member has gone ``patience`` epochs without improving (or after
  ``max_epochs``);
* the prediction is the member mean; the uncertainty is the member standard deviation (epistemic: it grows
  away from the data, where the members were never pinned down). With ``aleatoric=True`` a constant,
  homoscedastic noise term is added in quadrature: ``sigma_a^2 = max(0, MSE_val - mean member variance on
  the validation rows)``, the held-out error the spread does not already explain (on the training rows
  when nothing is held out). It is the simplest calibration fix; a learned heteroscedastic (Gaussian NLL)
  head is not implemented.

The optimiser settings (Adam, lr 1e-3, batch 32, patience 100, at most 2,000 epochs) are ours.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from splitgym.surrogates._stack import StackSurrogate
from splitgym.surrogates.base import FitReport, check_float, check_hidden, check_int

__all__ = ["EnsembleSurrogate"]


class EnsembleSurrogate(StackSurrogate):
    """Bootstrapped ensemble of standardised MLPs with early stopping; ``predict`` gives the member mean
    and the member standard deviation (plus a constant aleatoric term with ``aleatoric=True``).

    Args:
        members: number of networks (>= 2 for a spread).
        hidden: hidden-layer widths of each network (default the paper's ``(128, 128)``).
        lr, batch_size, weight_decay: Adam's settings.
        max_epochs: upper bound on epochs; patience: epochs without a validation improvement before a
            member is done (``None``: run all ``max_epochs``, still keeping each member's best epoch).
        val_fraction: share of rows held out for early stopping (0: no early stopping, last weights).
        bootstrap: each member trains on a bootstrap resample (``False``: all on the same rows).
        aleatoric: add the homoscedastic residual term to the standard deviation.
        seed: seeds the split, the resamples, the initialisations and the mini-batch orders.
        input_names, target_name: recorded in the metadata.
    """

    kind = "ensemble"

    def __init__(
        self,
        members: int = 5,
        hidden: tuple[int, ...] | list[int] = (128, 128),
        *,
        lr: float = 1e-3,
        max_epochs: int = 2000,
        batch_size: int = 32,
        patience: int | None = 100,
        val_fraction: float = 0.2,
        bootstrap: bool = True,
        weight_decay: float = 0.0,
        aleatoric: bool = False,
        seed: int = 0,
        input_names: list[str] | tuple[str, ...] | None = None,
        target_name: str = "reward",
    ) -> None:
        super().__init__(input_names, target_name)
        self.members = check_int("members", members, 1, 1000)
        self.hidden = check_hidden(hidden)
        self.lr = check_float("lr", lr, 0.0, 10.0, open_low=True)
        self.max_epochs = check_int("max_epochs", max_epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.patience = None if patience is None else check_int("patience", patience, 1)
        self.val_fraction = check_float("val_fraction", val_fraction, 0.0, 0.9)
        self.bootstrap = bool(bootstrap)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0, 1.0)
        self.aleatoric = bool(aleatoric)
        self.seed = check_int("seed", seed, 0)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "hidden": list(self.hidden),
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "val_fraction": self.val_fraction,
            "bootstrap": self.bootstrap,
            "weight_decay": self.weight_decay,
            "aleatoric": self.aleatoric,
            "seed": self.seed,
            "input_names": self.input_names,
            "target_name": self.target_name,
        }

    def fit(self, X: ArrayLike, y: ArrayLike) -> FitReport:
        report, rows = self._fit_stack(
            X,
            y,
            members=self.members,
            hidden=self.hidden,
            normalise=True,
            bootstrap=self.bootstrap,
            val_fraction=self.val_fraction,
            lr=self.lr,
            epochs=self.max_epochs,
            batch_size=self.batch_size,
            patience=self.patience,
            weight_decay=self.weight_decay,
            seed=self.seed,
        )
        assert self.metadata is not None
        if self.aleatoric:
            xs, ts = (
                (rows["X_val"], rows["y_val"]) if len(rows["y_val"]) else (rows["X_train"], rows["y_train"])
            )
            P = self.predict_members(xs)
            mse = float(np.mean((P.mean(axis=0) - ts) ** 2))
            spread = float(np.mean(P.var(axis=0)))
            self.aleatoric_std = math.sqrt(max(0.0, mse - spread))
        self.metadata.extra["aleatoric_std"] = self.aleatoric_std
        return report
