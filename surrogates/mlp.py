"""The paper's reward surrogate model (RSM): an MLP 2 -> 128 -> 128 -> 1 with ReLU on raw inputs.

Chen et al. (arXiv 2406.02616) replace the LLM's perplexity evaluation by this network, trained offline
with a mean-squared-error loss on ``[impairment, split]`` and frozen during PPO. The architecture, the raw
(un-normalised) inputs and target, ReLU and the MSE loss are the release's (``reward_predictor.pth``, class
``RewarfPredictor``); the training script is not released, so the optimiser settings are **ours**:

* Adam (the usual choice for such a network; nothing in the release says otherwise), learning rate
  ``1e-3`` (Adam's and PyTorch's default), no weight decay;
* mini-batches of 32, 2,000 epochs over the data, the last weights kept (no early stopping);
* PyTorch's default ``nn.Linear`` initialisation, drawn from a generator seeded by ``seed``;
* by default every sample trains (``val_fraction=0``), as a fit to a 72-point grid most likely did;
  ``val_fraction > 0`` holds out a random share only to *report* a validation loss.

Measured (seeds 0-2, about 5 s per fit on one CPU thread): trained on 16 of the paper table's 31 levels x 10
splits, held-out R^2 0.996-0.998 on the other 15 levels; on ``accuracy/reference_erasure`` (9 of 16 levels x
13 splits) 0.973-0.991. The last iterate of Adam at a constant learning rate on raw inputs is
seed-sensitive (other settings gave single seeds at R^2 0.86-0.94); :class:`EnsembleSurrogate`, which
standardises and early-stops, is steadier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from splitgym.surrogates._stack import StackSurrogate
from splitgym.surrogates.base import FitReport, check_float, check_int

__all__ = ["PAPER_HIDDEN", "PaperMLP"]

PAPER_HIDDEN = (128, 128)


class PaperMLP(StackSurrogate):
    """The paper's surrogate exactly: ``n_inputs -> 128 -> ReLU -> 128 -> ReLU -> 1`` on raw inputs, MSE,
    Adam. One network, so :meth:`predict`'s ``std`` is 0.

    Args:
        lr: Adam's learning rate (ours: 1e-3, the default).
        epochs: passes over the training rows (ours: 2,000).
        batch_size: rows per Adam step (ours: 32).
        val_fraction: share of rows held out to report a validation loss (default 0: train on all).
        seed: seeds the validation split, the initialisation and the mini-batch order.
        input_names, target_name: recorded in the metadata (default ``x0, x1, ...`` and ``"reward"``).
    """

    kind = "paper_mlp"

    def __init__(
        self,
        *,
        lr: float = 1e-3,
        epochs: int = 2000,
        batch_size: int = 32,
        val_fraction: float = 0.0,
        seed: int = 0,
        input_names: list[str] | tuple[str, ...] | None = None,
        target_name: str = "reward",
    ) -> None:
        super().__init__(input_names, target_name)
        self.lr = check_float("lr", lr, 0.0, 10.0, open_low=True)
        self.epochs = check_int("epochs", epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.val_fraction = check_float("val_fraction", val_fraction, 0.0, 0.9)
        self.seed = check_int("seed", seed, 0)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "input_names": self.input_names,
            "target_name": self.target_name,
        }

    def fit(self, X: ArrayLike, y: ArrayLike) -> FitReport:
        report, _ = self._fit_stack(
            X,
            y,
            members=1,
            hidden=PAPER_HIDDEN,
            normalise=False,
            bootstrap=False,
            val_fraction=self.val_fraction,
            lr=self.lr,
            epochs=self.epochs,
            batch_size=self.batch_size,
            patience=None,
            weight_decay=0.0,
            seed=self.seed,
        )
        return report

    def to_torch(self) -> Any:
        """The fitted network as a ``torch.nn.Sequential`` (Linear, ReLU, Linear, ReLU, Linear) on raw
        inputs, the layout of the release's ``RewarfPredictor``, in ``float32`` and ``eval()`` mode."""
        import torch

        self._fitted_metadata()
        assert self._stack is not None
        layers: list[Any] = []
        for k, (w, b) in enumerate(zip(self._stack.W, self._stack.b, strict=True)):
            lin = torch.nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(np.ascontiguousarray(w[0].T), dtype=torch.float32))
                lin.bias.copy_(torch.as_tensor(b[0], dtype=torch.float32))
            layers.append(lin)
            if k < len(self._stack.W) - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers).eval()
