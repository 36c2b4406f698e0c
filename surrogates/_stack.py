"""A stack of ``M`` independent ReLU MLPs of one shape, trained together (private).

The weights live as numpy ``float64`` arrays: layer ``k`` is ``W[k]`` of shape ``(M, fan_in, fan_out)`` and
``b[k]`` of shape ``(M, fan_out)``. Prediction is a numpy forward pass (no torch, so loading and predicting
never import it); training converts the weights to torch ``float32`` tensors and runs Adam on all members
at once with batched matrix products, each member on its own data and its own mini-batch order. Members
never interact: the loss is the *sum* of the members' mean squared errors, so each member's gradient is
the one it would get alone.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.errors import ConfigError
from splitgym.surrogates.base import (
    FitReport,
    RewardSurrogate,
    SurrogateMetadata,
    as_inputs,
    as_targets,
    utc_now,
    versions,
)

__all__ = ["Stack", "StackSurrogate", "TrainResult", "forward", "init_stack", "train_stack"]

Array = NDArray[np.float64]


@dataclass
class Stack:
    """Weights ``W[k]`` ``(M, fan_in, fan_out)`` and biases ``b[k]`` ``(M, fan_out)`` of each layer."""

    W: list[Array]
    b: list[Array]
    _f32: tuple[list[NDArray[np.float32]], list[NDArray[np.float32]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def float32(self) -> tuple[list[NDArray[np.float32]], list[NDArray[np.float32]]]:
        """The weights and biases as ``float32`` (cached; lossless for weights trained in ``float32``)."""
        if self._f32 is None:
            self._f32 = (
                [np.ascontiguousarray(w, np.float32) for w in self.W],
                [np.ascontiguousarray(b[:, None, :], np.float32) for b in self.b],
            )
        return self._f32

    @property
    def members(self) -> int:
        return int(self.W[0].shape[0])

    @property
    def sizes(self) -> tuple[int, ...]:
        return (int(self.W[0].shape[1]), *(int(w.shape[2]) for w in self.W))

    def arrays(self) -> dict[str, Array]:
        """Flat ``{"W0": ..., "b0": ..., ...}`` for saving."""
        out: dict[str, Array] = {}
        for k, (w, b) in enumerate(zip(self.W, self.b, strict=True)):
            out[f"W{k}"], out[f"b{k}"] = w, b
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, Array], layers: int) -> Stack:
        return cls(
            [np.asarray(arrays[f"W{k}"], np.float64) for k in range(layers)],
            [np.asarray(arrays[f"b{k}"], np.float64) for k in range(layers)],
        )


def init_stack(members: int, sizes: tuple[int, ...], rng: np.random.Generator) -> Stack:
    """PyTorch's default ``nn.Linear`` initialisation (weights and biases uniform in ``±1/sqrt(fan_in)``),
    drawn from ``rng`` so that it never touches torch's global generator."""
    W, b = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        W.append(rng.uniform(-bound, bound, size=(members, fan_in, fan_out)))
        b.append(rng.uniform(-bound, bound, size=(members, fan_out)))
    return Stack(W, b)


CHUNK_ROWS = 1024  # rows per forward block: bounds the (M, rows, width) activations and stays in cache


def forward(stack: Stack, X: Array) -> Array:
    """Outputs ``(M, N)`` of every member on inputs ``X`` ``(N, fan_in)`` (single output unit).

    Computed in ``float32``, the precision the weights were trained in (about 2x faster than ``float64``
    through BLAS), in blocks of :data:`CHUNK_ROWS` rows; returned as ``float64``.
    """
    W, b = stack.float32()
    n = X.shape[0]
    out = np.empty((len(W[0]), n), np.float64)
    for lo in range(0, n, CHUNK_ROWS):
        h = np.matmul(X[lo : lo + CHUNK_ROWS].astype(np.float32), W[0])
        h += b[0]
        for w, bias in zip(W[1:], b[1:], strict=True):
            np.maximum(h, 0.0, out=h)
            h = np.matmul(h, w)
            h += bias
        out[:, lo : lo + h.shape[1]] = h[..., 0]
    return out


@dataclass
class TrainResult:
    """What :func:`train_stack` did: epochs run, each member's best epoch and losses (normalised units)."""

    epochs: int
    best_epoch: list[int]
    train_loss: list[float]
    val_loss: list[float]
    stopped_early: bool
    seconds: float
    history: list[float] = field(default_factory=list)  # mean validation (or training) loss per epoch


def train_stack(
    stack: Stack,
    X: Array,
    y: Array,
    *,
    X_val: Array | None,
    y_val: Array | None,
    lr: float,
    epochs: int,
    batch_size: int,
    patience: int | None,
    weight_decay: float,
    seed: int,
) -> tuple[Stack, TrainResult]:
    """Train every member on its own data with Adam and MSE; return the trained stack.

    ``X`` is ``(M, n, fan_in)`` and ``y`` ``(M, n)``: member ``m`` trains on ``X[m], y[m]`` (a bootstrap
    resample for an ensemble). With a validation set, each member keeps the weights of its best validation
    epoch and training stops once every member has gone ``patience`` epochs without improving; without one,
    it runs ``epochs`` epochs and keeps the last weights.
    """
    import torch

    start = time.perf_counter()
    gen = torch.Generator().manual_seed(int(seed))
    M, n, _ = X.shape
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    Xv = torch.as_tensor(X_val, dtype=torch.float32) if has_val else None
    yv = torch.as_tensor(y_val, dtype=torch.float32) if has_val else None
    params: list[Any] = []
    for w, b in zip(stack.W, stack.b, strict=True):
        params.append(torch.tensor(w, dtype=torch.float32, requires_grad=True))
        params.append(torch.tensor(b, dtype=torch.float32, requires_grad=True))
    try:  # the fused CPU kernel is about twice as fast on these small tensors
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):  # pragma: no cover - older torch
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    batch = max(1, min(int(batch_size), n))
    best = np.full(M, np.inf)
    best_epoch = [0] * M
    best_params = [p.detach().clone() for p in params]
    since = np.zeros(M, dtype=np.int64)
    history: list[float] = []
    epoch = 0
    stopped_early = False
    rows = torch.arange(M)[:, None]
    for epoch in range(1, int(epochs) + 1):
        order = torch.argsort(torch.rand(M, n, generator=gen), dim=1)
        for lo in range(0, n, batch):
            idx = order[:, lo : lo + batch]
            pred = net_with(params, Xt[rows, idx])
            loss = ((pred - yt[rows, idx]) ** 2).mean(dim=1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if Xv is None or yv is None:
            continue
        with torch.no_grad():
            v = ((net_with(params, Xv.expand(M, -1, -1)) - yv) ** 2).mean(dim=1).numpy().astype(np.float64)
        history.append(float(v.mean()))
        improved = v < best
        if np.any(improved):
            mask = torch.from_numpy(improved)
            for p, saved in zip(params, best_params, strict=True):
                saved[mask] = p.detach()[mask]
        best = np.where(improved, v, best)
        since = np.where(improved, 0, since + 1)
        for m in np.flatnonzero(improved):
            best_epoch[int(m)] = epoch
        if patience is not None and np.all(since >= patience):
            stopped_early = True
            break
    final = best_params if has_val else [p.detach() for p in params]
    with torch.no_grad():
        train_loss = ((net_with(final, Xt) - yt) ** 2).mean(dim=1).numpy().astype(np.float64)
    if not has_val:
        best_epoch = [epoch] * M
        history.append(float(train_loss.mean()))
    out = Stack(
        [t.numpy().astype(np.float64) for t in final[0::2]],
        [t.numpy().astype(np.float64) for t in final[1::2]],
    )
    return out, TrainResult(
        epochs=epoch,
        best_epoch=best_epoch,
        train_loss=[float(t) for t in train_loss],
        val_loss=[float(v) for v in best] if has_val else [math.nan] * M,
        stopped_early=stopped_early,
        seconds=time.perf_counter() - start,
        history=history,
    )


def net_with(params: list[Any], x: Any) -> Any:
    """Forward pass in torch with explicit ``[W0, b0, W1, b1, ...]`` on ``(M, B, fan_in)`` inputs."""
    import torch

    Ws, bs = params[0::2], params[1::2]
    h = torch.baddbmm(bs[0][:, None, :], x, Ws[0])
    for w, b in zip(Ws[1:], bs[1:], strict=True):
        h = torch.baddbmm(b[:, None, :], torch.relu(h), w)
    return h[..., 0]


class StackSurrogate(RewardSurrogate):
    """A surrogate made of a :class:`Stack` of MLPs with affine input and target normalisation.

    ``predict`` maps ``(X - x_mean) / x_scale`` through every member, rescales the outputs by
    ``y_scale`` and ``y_mean``, and returns the member mean and the member standard deviation (``ddof=0``;
    0 for one member), combined in quadrature with :attr:`aleatoric_std` when that is set.
    """

    def __init__(self, input_names: list[str] | tuple[str, ...] | None, target_name: str) -> None:
        super().__init__(input_names, target_name)
        self._stack: Stack | None = None
        self._norm: tuple[Array, Array, float, float] | None = None
        self.aleatoric_std = 0.0

    def _set_norm(self, meta: SurrogateMetadata) -> None:
        """Cache the normalisation constants as arrays (predict is called once per env step)."""
        self._norm = (
            np.asarray(meta.x_mean, np.float64),
            np.asarray(meta.x_scale, np.float64),
            float(meta.y_mean),
            float(meta.y_scale),
        )

    def predict_members(self, X: ArrayLike) -> Array:
        """Every member's prediction ``(members, n_samples)`` in the target's units."""
        self._fitted_metadata()
        if self._stack is None or self._norm is None:
            raise ConfigError(f"{type(self).__name__} has metadata but no weights; fit or load it")
        x_mean, x_scale, y_mean, y_scale = self._norm
        x = as_inputs(X, len(x_mean))
        out = forward(self._stack, (x - x_mean) / x_scale)
        out *= y_scale
        out += y_mean
        return out

    def predict(self, X: ArrayLike) -> tuple[Array, Array]:
        P = self.predict_members(X)
        if P.shape[0] == 1:
            mean, std = P[0], np.zeros(P.shape[1])
        else:
            mean, std = P.mean(axis=0), P.std(axis=0)
        if self.aleatoric_std > 0:
            std = np.sqrt(std**2 + self.aleatoric_std**2)
        return mean, std

    def _weights(self) -> dict[str, NDArray[Any]]:
        assert self._stack is not None
        return dict(self._stack.arrays())

    def _restore(self, meta: SurrogateMetadata, arrays: dict[str, NDArray[Any]]) -> None:
        layers = sum(1 for k in arrays if k.startswith("W"))
        try:
            stack = Stack.from_arrays(arrays, layers)
        except KeyError as exc:
            raise ConfigError(f"saved weights lack the array {exc}; the weights file is incomplete") from exc
        if stack.sizes[0] != len(meta.input_names) or stack.sizes[-1] != 1:
            raise ConfigError(
                f"saved weights have layer sizes {stack.sizes}, inconsistent with {len(meta.input_names)} "
                "input(s) and one output"
            )
        self._stack = stack
        self._set_norm(meta)
        self.aleatoric_std = float(meta.extra.get("aleatoric_std", 0.0))

    def _fit_stack(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        members: int,
        hidden: tuple[int, ...],
        normalise: bool,
        bootstrap: bool,
        val_fraction: float,
        lr: float,
        epochs: int,
        batch_size: int,
        patience: int | None,
        weight_decay: float,
        seed: int,
    ) -> tuple[FitReport, dict[str, Array]]:
        """Split, normalise, bootstrap, train and record the metadata; return the report and the
        ``{"X_train", "y_train", "X_val", "y_val"}`` rows used."""
        x = as_inputs(X)
        t = as_targets(y, x.shape[0])
        n = x.shape[0]
        names = self._names_for(x.shape[1])
        n_val = max(1, round(val_fraction * n)) if val_fraction > 0 else 0
        if n - n_val < 2:
            raise ConfigError(
                f"X has {n} row(s): too few to train on at least 2 after holding out "
                f"val_fraction={val_fraction} ({n_val} row(s)); give more samples"
            )
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n)
        val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        x_tr, t_tr, x_val, t_val = x[tr_idx], t[tr_idx], x[val_idx], t[val_idx]
        if normalise:
            # A spread at rounding level (a constant column's std is ~1e-16, not 0) is no spread: scale 1.
            x_mean, x_scale = x_tr.mean(axis=0), x_tr.std(axis=0)
            x_scale = np.where(x_scale > 1e-12 * np.maximum(1.0, np.abs(x_mean)), x_scale, 1.0)
            y_mean, y_scale = float(t_tr.mean()), float(t_tr.std())
            y_scale = y_scale if y_scale > 1e-12 * max(1.0, abs(y_mean)) else 1.0
        else:
            x_mean, x_scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
            y_mean, y_scale = 0.0, 1.0
        n_tr = len(tr_idx)
        rows = (
            rng.integers(0, n_tr, size=(members, n_tr))
            if bootstrap
            else np.tile(np.arange(n_tr), (members, 1))
        )
        z_tr = (x_tr - x_mean) / x_scale
        u_tr = (t_tr - y_mean) / y_scale
        stack = init_stack(members, (x.shape[1], *hidden, 1), rng)
        stack, result = train_stack(
            stack,
            z_tr[rows],
            u_tr[rows],
            X_val=(x_val - x_mean) / x_scale if n_val else None,
            y_val=(t_val - y_mean) / y_scale if n_val else None,
            lr=lr,
            epochs=epochs,
            batch_size=batch_size,
            patience=patience,
            weight_decay=weight_decay,
            seed=seed,
        )
        if not all(np.all(np.isfinite(w)) for w in stack.W + stack.b):
            raise ConfigError(f"training diverged (non-finite weights) with lr={lr}; use a smaller lr")
        self._stack = stack
        self.aleatoric_std = 0.0
        self.metadata = SurrogateMetadata(
            kind=self.kind,
            input_names=names,
            target_name=self.target_name,
            x_mean=[float(v) for v in x_mean],
            x_scale=[float(v) for v in x_scale],
            y_mean=y_mean,
            y_scale=y_scale,
            input_low=[float(v) for v in x.min(axis=0)],
            input_high=[float(v) for v in x.max(axis=0)],
            n_samples=n,
            n_train=n_tr,
            n_val=n_val,
            seed=seed,
            epochs=result.epochs,
            train_loss=math.nan,
            val_loss=math.nan,
            hyperparameters=self.hyperparameters(),
            versions=versions(),
            date=utc_now(),
            extra={"best_epochs": result.best_epoch, "stopped_early": result.stopped_early},
        )
        self._set_norm(self.metadata)
        train_loss = float(np.mean((self.predict(x_tr)[0] - t_tr) ** 2))
        val_loss = float(np.mean((self.predict(x_val)[0] - t_val) ** 2)) if n_val else math.nan
        self.metadata.train_loss = train_loss
        self.metadata.val_loss = val_loss
        report = FitReport(
            kind=self.kind,
            n_samples=n,
            n_train=n_tr,
            n_val=n_val,
            members=members,
            epochs=result.epochs,
            best_epochs=tuple(result.best_epoch),
            train_loss=train_loss,
            val_loss=val_loss,
            stopped_early=result.stopped_early,
            seconds=result.seconds,
        )
        return report, {"X_train": x_tr, "y_train": t_tr, "X_val": x_val, "y_val": t_val}
