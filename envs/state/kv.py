"""KV-cache placement for multi-turn conversations split between device and edge, vectorised over ``n`` envs.

A conversation shares one context of ``c`` tokens across turns; each turn appends its prompt and its
generated tokens (``c <- min(c + prompt + generated, max_context_tokens)``). With split ``k`` the KV cache
of decoder layers ``1..k`` lives on the device and ``k+1..L`` on the edge (``0 <= k <= L``). Moving the
split from ``k`` to ``k'`` between turns (``Δ = |k' - k|`` layers, dossier ``link_and_dynamics.md`` §7
[A: derived]) costs either

* **migrate**: send the KV of the ``Δ`` moved layers over the link,
  ``bytes = Δ·c·kv_bytes_per_token_per_layer``: downlink when ``k' > k`` (the device takes layers),
  uplink when ``k' < k``; or
* **recompute**: run the ``Δ`` moved layers over the ``c`` context tokens (``Δ·c`` layer-token
  evaluations) on the side that takes them, fed with the hidden state at the lower boundary. For
  ``k' < k`` the device uploads ``h_k'`` for all ``c`` tokens (``c·hidden_bytes_per_token``) and the edge
  recomputes; for ``k' > k`` the device recomputes from ``h_k``, which it computed itself: 0 bytes if it
  kept them (``device_keeps_hidden``), else the edge sends them back (``c·hidden`` bytes downlink).

Device KV memory is ``k·c·kv_bytes_per_token_per_layer`` (plus ``c·hidden_bytes_per_token`` when it keeps
the hidden states, ``0 < k < L``); :meth:`KVCache.split_mask` gives the splits whose memory fits the
budget for the next turn. Bytes per token and layer: ``2·n_kv·d_head·b`` (K and V) [K]; hidden state
``d_model·b`` [K].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from splitgym.envs.state._checks import as_mask, broadcast_n, check_int, check_scalar
from splitgym.errors import ConfigError

__all__ = ["KVCache", "KVParams", "SplitMove", "split_move"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class KVParams:
    """Model geometry and device memory for the KV cache.

    Defaults are TinyLlama-1.1B in fp16 [S: its config.json, as catalogued in
    ``splitgym.profiles.timing.catalogue`` and dossier §7: 22 layers, d_model 2048, 32 heads / 4 KV heads,
    d_head 64, 2048 positions]: KV ``2·4·64·2 = 1024`` B per token and layer, hidden ``2048·2 = 4096`` B.

    Attributes:
        n_layers: decoder layers ``L`` (``>= 1``).
        kv_bytes_per_token_per_layer: KV bytes per token and layer (``> 0``).
        hidden_bytes_per_token: hidden-state bytes per token at a split (``> 0``).
        max_context_tokens: context limit; the context saturates there (``>= 1``).
        device_kv_budget_bytes: device memory available for KV (and kept hidden states), ``> 0``, may
            be ``inf``. Default ``inf`` [A: the weights' memory mask is the environment's].
        device_keeps_hidden: whether the device keeps ``h_k`` of every context token (for recompute).
            Default True [A: dossier §7 "if retained"; they are what it sent to the edge].
        context_scale_tokens: context that the observation maps to 1 (``>= 1``; default the limit).
    """

    n_layers: int = 22
    kv_bytes_per_token_per_layer: float = 1024.0
    hidden_bytes_per_token: float = 4096.0
    max_context_tokens: int = 2048
    device_kv_budget_bytes: float = float("inf")
    device_keeps_hidden: bool = True
    context_scale_tokens: int | None = None

    def __post_init__(self) -> None:
        check_int("n_layers", self.n_layers, ge=1)
        check_scalar("kv_bytes_per_token_per_layer", self.kv_bytes_per_token_per_layer, gt=0.0)
        check_scalar("hidden_bytes_per_token", self.hidden_bytes_per_token, gt=0.0)
        check_int("max_context_tokens", self.max_context_tokens, ge=1)
        check_scalar("device_kv_budget_bytes", self.device_kv_budget_bytes, gt=0.0, allow_inf=True)
        if not isinstance(self.device_keeps_hidden, bool):
            raise ConfigError(f"device_keeps_hidden must be True or False, got {self.device_keeps_hidden!r}")
        if self.context_scale_tokens is not None:
            check_int("context_scale_tokens", self.context_scale_tokens, ge=1)

    @classmethod
    def from_architecture(cls, name: str, element_bytes: float = 2.0, **kwargs: float | bool) -> KVParams:
        """Parameters for a catalogued architecture (``splitgym.profiles.timing.catalogue``)."""
        from splitgym.profiles.timing.catalogue import get_architecture

        arch = get_architecture(name)
        b = check_scalar("element_bytes", element_bytes, gt=0.0)
        fields: dict[str, float | bool] = {
            "n_layers": arch.layers,
            "kv_bytes_per_token_per_layer": arch.kv_bytes_per_token(b),
            "hidden_bytes_per_token": arch.hidden_bytes_per_token(b),
            "max_context_tokens": arch.max_positions,
        }
        return cls(**(fields | kwargs))  # type: ignore[arg-type]

    def device_bytes(self, split: ArrayLike, context_tokens: ArrayLike) -> F64:
        """Device KV (+ kept hidden) bytes at split ``k`` and context ``c``: ``k·c·kv + [0<k<L]·c·hidden``."""
        k = np.asarray(split, dtype=np.float64)
        c = np.asarray(context_tokens, dtype=np.float64)
        kv = k * c * self.kv_bytes_per_token_per_layer
        hidden = np.where((k > 0) & (k < self.n_layers) & self.device_keeps_hidden, c, 0.0)
        return np.asarray(kv + hidden * self.hidden_bytes_per_token, dtype=np.float64)


@dataclass(frozen=True)
class SplitMove:
    """Costs of moving each env's split, arrays of shape ``(n,)`` (both options; the env picks one).

    Attributes:
        moved_layers: ``Δ = |k' - k|``.
        to_device: True where ``k' > k`` (the device takes layers).
        migrate_bytes: ``Δ·c·kv`` bytes; downlink where ``to_device``, else uplink.
        recompute_layer_tokens: ``Δ·c`` layer-token evaluations, on the device where ``to_device``,
            else on the edge.
        recompute_hidden_bytes: hidden-state bytes shipped for recompute: ``c·hidden`` uplink where
            ``k' < k``; where ``to_device``, 0 if the device keeps its hidden states, else ``c·hidden``
            downlink.
    """

    moved_layers: I64
    to_device: NDArray[np.bool_]
    migrate_bytes: F64
    recompute_layer_tokens: F64
    recompute_hidden_bytes: F64


def split_move(
    params: KVParams, split: ArrayLike, new_split: ArrayLike, context_tokens: ArrayLike
) -> SplitMove:
    """Costs of moving from ``split`` to ``new_split`` at context ``c`` (arrays broadcast, unchecked):
    ``Δ = |k' - k|``, migrate ``Δ·c·kv`` bytes, recompute ``Δ·c`` layer-tokens (module docstring)."""
    p = params
    old = np.asarray(split, dtype=np.int64)
    new = np.asarray(new_split, dtype=np.int64)
    delta = np.abs(new - old)
    up = new > old
    c = np.asarray(context_tokens).astype(np.float64)
    layer_tokens = delta * c
    hidden = c * p.hidden_bytes_per_token
    shipped = np.where(up, 0.0 if p.device_keeps_hidden else hidden, hidden)
    return SplitMove(
        moved_layers=delta,
        to_device=up,
        migrate_bytes=layer_tokens * p.kv_bytes_per_token_per_layer,
        recompute_layer_tokens=layer_tokens,
        recompute_hidden_bytes=np.where(delta > 0, shipped, 0.0),
    )


class KVCache:
    """Context length and split per env (see the module docstring).

    Observation (:meth:`observe`, float32, shape ``(n, 3)``, each in ``[0, 1]``):
    ``[min(c/context_scale, 1), k/L, min(device_bytes/budget, 1)]`` (the last is 0 with an infinite budget).
    """

    n_features = 3

    def __init__(self, params: KVParams, n: int = 1) -> None:
        self.params = params
        self.n = check_int("n", n, ge=1)
        self.context_tokens = np.zeros(self.n, dtype=np.int64)
        self.split = np.zeros(self.n, dtype=np.int64)

    def _check_split(self, name: str, split: ArrayLike) -> I64:
        arr = np.asarray(split)
        if arr.dtype.kind not in "iu" or (arr < 0).any() or (arr > self.params.n_layers).any():
            raise ConfigError(f"{name} must be integers in [0, {self.params.n_layers}], got {arr!r}")
        return np.array(np.broadcast_to(arr.astype(np.int64), (self.n,)))

    def reset(
        self,
        rng: np.random.Generator | None = None,
        mask: ArrayLike | None = None,
        split: ArrayLike = 0,
        context_tokens: ArrayLike = 0,
    ) -> None:
        """Start new conversations in the selected envs (``rng`` unused: the start state is given)."""
        del rng
        sel = as_mask(mask, self.n)
        c = broadcast_n("context_tokens", context_tokens, self.n, ge=0.0)
        self.split[sel] = self._check_split("split", split)[sel]
        self.context_tokens[sel] = np.minimum(c, self.params.max_context_tokens).astype(np.int64)[sel]

    def advance(
        self, prompt_tokens: ArrayLike, generated_tokens: ArrayLike, mask: ArrayLike | None = None
    ) -> I64:
        """Append one turn (prompt + generated tokens, ``>= 0``) to the selected contexts; returns ``c``."""
        add = broadcast_n("prompt_tokens", prompt_tokens, self.n, ge=0.0)
        add = add + broadcast_n("generated_tokens", generated_tokens, self.n, ge=0.0)
        sel = as_mask(mask, self.n)
        grown = np.minimum(self.context_tokens + add.astype(np.int64), self.params.max_context_tokens)
        self.context_tokens = np.where(sel, grown, self.context_tokens)
        return self.context_tokens.copy()

    def move_cost(self, new_split: ArrayLike) -> SplitMove:
        """Costs of moving from the current split to ``new_split`` at the current context (no change)."""
        new = self._check_split("new_split", new_split)
        return split_move(self.params, self.split, new, self.context_tokens)

    def move_split(self, new_split: ArrayLike, mask: ArrayLike | None = None) -> SplitMove:
        """Move the selected envs' split to ``new_split``; returns the costs (zeros where not moved)."""
        sel = as_mask(mask, self.n)
        new = np.where(sel, self._check_split("new_split", new_split), self.split)
        move = self.move_cost(new)
        self.split = new
        return move

    @property
    def device_bytes(self) -> F64:
        """Device KV (+ kept hidden) bytes now."""
        return self.params.device_bytes(self.split, self.context_tokens)

    def split_mask(self, extra_tokens: ArrayLike = 0) -> NDArray[np.bool_]:
        """Splits ``0..L`` whose device memory fits the budget at context ``c + extra_tokens``: (n, L+1)."""
        p = self.params
        extra = broadcast_n("extra_tokens", extra_tokens, self.n, ge=0.0)
        c = np.minimum(self.context_tokens + extra, p.max_context_tokens)
        ks = np.arange(p.n_layers + 1)
        need = p.device_bytes(ks[None, :], c[:, None])
        return np.asarray(need <= p.device_kv_budget_bytes, dtype=bool)

    def observe(self) -> NDArray[np.float32]:
        """``[context, split, memory]`` features, float32 of shape ``(n, 3)`` in ``[0, 1]``."""
        p = self.params
        scale = float(p.context_scale_tokens or p.max_context_tokens)
        ctx = np.minimum(self.context_tokens / scale, 1.0)
        mem = np.minimum(self.device_bytes / p.device_kv_budget_bytes, 1.0)
        return np.stack([ctx, self.split / p.n_layers, mem], axis=1).astype(np.float32)
