"""Channel operators that corrupt the hidden state crossing the split, each seeded by a torch Generator.

An operator maps the hidden state ``y`` (shape ``[batch, tokens, hidden]``) and a channel ``level`` to the
state the edge receives. ``level`` is on the operator's :attr:`~ChannelOperator.level_name` axis:

* :class:`Erasure` (``"impairment"``, in [0, 1]): each element zeroed with probability ``p``, no rescaling
  (the authors' released code).
* :class:`Fading` (``"snr_db"``): ``y' = h y + n`` with Nakagami-m block fading, one ``h`` per token
  (``|h|^2 ~ Gamma(m, 1/m)``, ``E|h|^2 = 1``), and AWGN ``n ~ N(0, P / SNR)`` with ``P`` the token's mean
  power (the paper's text). With ``equalize=True`` the receiver divides by the known ``h``:
  ``y' = y + n / h``.
* :class:`BitFlip` (``"snr_db"``): ``y`` is quantised to its transmission dtype (``fp16``, ``bf16``, or
  ``int8`` with one absmax scale per token, sent in fp32), every bit is flipped independently with the
  uncoded BER of ``modulation`` over AWGN at that SNR (:func:`splitgym.envs.channels.ber_awgn`), and the
  receiver sanitises: NaN/Inf become 0 and values are clamped to ``±clamp`` (the calibrated largest clean
  magnitude at the split, times ``margin``).
* :class:`ActivationQuant` (``"activation_bits"``, the precision of the sent hidden state): ``16`` casts to
  fp16 and back; ``b < 16`` quantises each token's vector symmetrically with one absmax scale per token
  (``s = max|y| / (2^(b-1) - 1)``, ``q = clamp(round(y / s))``, sent beside it in fp16) and the edge
  dequantises ``q s``. Deterministic (no draws): it is the loss of a digital link that delivers the bits
  exactly, so it depends on the precision only, never on the SNR.
* :class:`Analog` (``"snr_db"``, the instantaneous per-RE SNR of one coherence block): uncoded analog
  transmission of the activations (the semantic-communication setting). Two real values per complex
  channel use, ``x = (y_2i + j y_2i+1) / sqrt(2 mean(y^2))`` (unit power per token; the scale goes beside
  it digitally), ``z = x + n`` with ``n ~ CN(0, 1/SNR)`` (the block's gain is absorbed into the SNR: a
  rotation and scaling of the channel, exact for circular noise), a pilot-based estimate
  ``h_hat = 1 + e``, ``e ~ CN(0, 1/(SNR N_p))`` (least squares over ``N_p`` pilot REs, one per token) and
  LMMSE equalisation ``x_hat = conj(h_hat) z / (|h_hat|^2 + 1/SNR)``. No fading is drawn here: the
  environment draws it once per coherence block and reads this profile at the block's SNR.
* :class:`UncodedPacket` (``"snr_db"``): fixed-modulation digital without coding. The hidden state is
  sent in ``dtype`` as a stream of packets of ``packet_bits`` (``header_bits`` of them header); every bit
  is flipped with the modulation's AWGN BER, and a packet whose header is hit (probability
  ``1 - (1 - BER)^header_bits``) is lost: its contiguous elements are erased (zero). Delivered elements are
  sanitised as :class:`BitFlip` does.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from splitgym.envs.channels.link import MODULATIONS, ber_awgn, db_to_linear
from splitgym.errors import ConfigError, suggest

__all__ = [
    "OPERATORS",
    "ActivationQuant",
    "Analog",
    "BitFlip",
    "ChannelOperator",
    "Erasure",
    "Fading",
    "UncodedPacket",
    "add_awgn",
    "make_operator",
]


def _check_level(name: str, level: float, low: float, high: float) -> float:
    if not isinstance(level, (int, float)) or not math.isfinite(level) or not low <= level <= high:
        raise ConfigError(f"{name} must be a finite number in [{low:g}, {high:g}], got {level!r}")
    return float(level)


def add_awgn(y: Any, noise_power: Any, gen: Any) -> Any:
    """``y + n`` with ``n ~ N(0, noise_power)`` element-wise; ``noise_power`` (variance, in the squared
    units of ``y``) is a number or a tensor broadcastable to ``y``, and must be finite and >= 0."""
    import torch

    power = torch.as_tensor(noise_power, dtype=y.dtype)
    if not bool(torch.isfinite(power).all()) or bool((power < 0).any()):
        bad = float(power.min()) if bool(torch.isfinite(power).all()) else float("nan")
        raise ConfigError(f"noise_power must be finite and >= 0, got {bad!r}")
    return y + torch.randn(y.shape, generator=gen, dtype=y.dtype) * power.sqrt()


class ChannelOperator(ABC):
    """Corrupts the transmitted hidden state at a channel level (see the module docstring)."""

    level_name: str = ""

    @abstractmethod
    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        """The received tensor for transmitted ``y`` at ``level``, drawing from torch Generator ``gen``."""

    def describe(self) -> dict[str, Any]:
        """The operator's name and parameters (recorded in profiles' metadata)."""
        return {"operator": type(self).__name__.lower(), **{k: v for k, v in vars(self).items()}}


class Erasure(ChannelOperator):
    """Each element zeroed independently with probability ``level`` (``"impairment"``)."""

    level_name = "impairment"

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        p = _check_level("impairment", level, 0.0, 1.0)
        keep = torch.rand(y.shape, generator=gen, device=y.device) >= p
        return y * keep.to(y.dtype)


class Fading(ChannelOperator):
    """Nakagami-m block fading per token plus AWGN at ``level`` dB SNR, optionally equalised."""

    level_name = "snr_db"

    def __init__(self, m: float = 1.0, equalize: bool = True) -> None:
        if not isinstance(m, (int, float)) or not m >= 0.5:
            raise ConfigError(f"Nakagami m must be >= 0.5, got {m!r}")
        self.m = float(m)
        self.equalize = bool(equalize)

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        snr = float(db_to_linear(_check_level("snr_db", level, -60.0, 100.0)))
        shape = (*y.shape[:-1], 1)
        gamma = torch._standard_gamma(torch.full(shape, self.m, dtype=torch.float64), generator=gen)
        h = (gamma / self.m).sqrt().to(y.dtype)
        noise_power = y.pow(2).mean(dim=-1, keepdim=True) / snr
        if self.equalize:  # y' = (h y + n) / h
            return add_awgn(y, noise_power / h.clamp_min(1e-6).pow(2), gen)
        return add_awgn(h * y, noise_power, gen)


class BitFlip(ChannelOperator):
    """Quantise to ``dtype``, flip bits at the modulation's AWGN BER, sanitise at the receiver."""

    level_name = "snr_db"
    DTYPES = ("fp16", "bf16", "int8")

    def __init__(self, dtype: str = "fp16", modulation: str = "qpsk", margin: float = 1.0) -> None:
        if dtype not in self.DTYPES:
            raise ConfigError(
                f"dtype must be one of {list(self.DTYPES)}, got {dtype!r}{suggest(dtype, self.DTYPES)}"
            )
        if modulation not in MODULATIONS:
            raise ConfigError(f"modulation must be one of {list(MODULATIONS)}, got {modulation!r}")
        if not margin >= 1.0:
            raise ConfigError(f"margin must be >= 1, got {margin!r}")
        self.dtype, self.modulation, self.margin = dtype, modulation, float(margin)

    def ber(self, snr_db: float) -> float:
        """Bit error probability at ``snr_db`` (uncoded, AWGN, symbol SNR)."""
        return float(ber_awgn(db_to_linear(_check_level("snr_db", snr_db, -60.0, 100.0)), self.modulation))

    @staticmethod
    def _flip(bits: Any, p: float, width: int, gen: Any) -> Any:
        """Flip every bit of integer tensor ``bits`` independently with probability ``p``.

        For ``p >= 1e-4`` each bit draws its own Bernoulli; below that a Binomial(n·width, p) number of
        errors is placed uniformly (two errors on one bit cancel), which is exact up to O(p) collisions.
        """
        import torch

        flat = bits.reshape(-1)
        if p >= 1e-4:
            hit = torch.rand((flat.numel(), width), generator=gen) < p
            weights = torch.ones(width, dtype=torch.int64).bitwise_left_shift(torch.arange(width))
            masks = (hit.to(torch.int64) * weights).sum(dim=1)
        else:
            total = flat.numel() * width
            count = int(
                torch.binomial(
                    torch.tensor(float(total), dtype=torch.float64),
                    torch.tensor(p, dtype=torch.float64),
                    generator=gen,
                )
            )
            if count == 0:
                return bits.clone()
            pos, hits = torch.unique(torch.randint(0, total, (count,), generator=gen), return_counts=True)
            pos = pos[hits % 2 == 1]
            # Distinct bits of one element add up to their OR, so a scatter-add builds each element's mask.
            masks = torch.zeros(flat.numel(), dtype=torch.int64)
            masks.index_add_(0, pos // width, torch.ones_like(pos).bitwise_left_shift(pos % width))
        return (flat ^ masks.to(flat.dtype)).view(bits.shape)

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        p = self.ber(level)
        if self.dtype == "int8":
            scale = y.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / 127.0
            q = torch.round(y / scale).clamp(-127, 127).to(torch.int8)
            out = self._flip(q, p, 8, gen).to(y.dtype) * scale
        else:
            tdtype = torch.float16 if self.dtype == "fp16" else torch.bfloat16
            bits = y.to(tdtype).view(torch.int16)
            out = self._flip(bits, p, 16, gen).view(tdtype).to(y.dtype)
        out = torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        if clamp is not None:
            bound = clamp * self.margin
            out = out.clamp(-bound, bound)
        return out


class ActivationQuant(ChannelOperator):
    """Per-token symmetric absmax quantisation of the hidden state to ``level`` bits (16: fp16 cast)."""

    level_name = "activation_bits"
    BITS = (4.0, 8.0, 16.0)  # int4, int8, fp16: the precisions a v1 device may send

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        bits = _check_level("activation_bits", level, 2.0, 16.0)
        if bits != int(bits):
            raise ConfigError(f"activation_bits must be an integer number of bits, got {level!r}")
        if bits == 16.0:
            return y.to(torch.float16).to(y.dtype)
        top = 2.0 ** (int(bits) - 1) - 1.0
        scale = (y.abs().amax(dim=-1, keepdim=True).to(torch.float16).to(y.dtype) / top).clamp_min(1e-12)
        return torch.round(y / scale).clamp(-top, top) * scale


class Analog(ChannelOperator):
    """Analog transmission, pilot-based estimate and LMMSE equalisation at ``level`` dB per-RE SNR."""

    level_name = "snr_db"

    def __init__(self, pilots: int = 30) -> None:
        if isinstance(pilots, bool) or not isinstance(pilots, int) or pilots < 1:
            raise ConfigError(f"pilots must be an integer >= 1 (pilot REs per estimate), got {pilots!r}")
        self.pilots = pilots

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        snr = float(db_to_linear(_check_level("snr_db", level, -60.0, 100.0)))
        h = y.shape[-1]
        x = torch.nn.functional.pad(y, (0, h % 2)) if h % 2 else y
        scale = (2.0 * x.pow(2).mean(dim=-1, keepdim=True)).sqrt().clamp_min(1e-12)
        xr, xi = x[..., 0::2] / scale, x[..., 1::2] / scale
        sd = math.sqrt(0.5 / snr)
        zr = xr + torch.randn(xr.shape, generator=gen, dtype=y.dtype) * sd
        zi = xi + torch.randn(xi.shape, generator=gen, dtype=y.dtype) * sd
        se = math.sqrt(0.5 / (snr * self.pilots))
        est = (*y.shape[:-1], 1)
        hr = 1.0 + torch.randn(est, generator=gen, dtype=y.dtype) * se
        hi = torch.randn(est, generator=gen, dtype=y.dtype) * se
        den = hr * hr + hi * hi + 1.0 / snr
        out = torch.empty_like(x)
        out[..., 0::2] = (hr * zr + hi * zi) / den * scale
        out[..., 1::2] = (hr * zi - hi * zr) / den * scale
        return out[..., :h]


class UncodedPacket(ChannelOperator):
    """Uncoded ``modulation`` bits in packets: bit flips at the AWGN BER, a packet lost with its header."""

    level_name = "snr_db"
    DTYPES = ("fp16", "int8")

    def __init__(
        self,
        dtype: str = "fp16",
        modulation: str = "qpsk",
        packet_bits: int = 12000,
        header_bits: int = 320,
        margin: float = 1.0,
    ) -> None:
        if dtype not in self.DTYPES:
            raise ConfigError(
                f"dtype must be one of {list(self.DTYPES)}, got {dtype!r}{suggest(dtype, self.DTYPES)}"
            )
        width = 16 if dtype == "fp16" else 8
        for name, v in (("packet_bits", packet_bits), ("header_bits", header_bits)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
        if packet_bits - header_bits < width:
            raise ConfigError(
                f"packet_bits must leave room for one {dtype} element after header_bits={header_bits}, "
                f"got {packet_bits}"
            )
        self.flips = BitFlip(dtype, modulation, margin)
        self.dtype, self.modulation, self.margin = dtype, modulation, float(margin)
        self.packet_bits, self.header_bits = packet_bits, header_bits
        self.packet_elements = (packet_bits - header_bits) // width

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.pop("flips", None)
        return d

    def loss_probability(self, snr_db: float) -> float:
        """``1 - (1 - BER)^header_bits``: the probability that a packet's header is hit."""
        return float(-math.expm1(self.header_bits * math.log1p(-min(self.flips.ber(snr_db), 0.5))))

    def apply(self, y: Any, level: float, gen: Any, clamp: float | None = None) -> Any:
        import torch

        out = self.flips.apply(y, level, gen, clamp)
        p = self.loss_probability(level)
        if p <= 0.0:
            return out
        lead = out.shape[0] if out.dim() > 2 else 1
        flat = out.reshape(lead, -1)  # one stream per sequence: tokens one after another
        n = flat.shape[1]
        n_packets = -(-n // self.packet_elements)
        lost = torch.rand((lead, n_packets), generator=gen) < p
        keep = (~lost).repeat_interleave(self.packet_elements, dim=1)[:, :n]
        return (flat * keep.to(flat.dtype)).reshape(out.shape)


OPERATORS: dict[str, type[ChannelOperator]] = {
    "erasure": Erasure,
    "fading": Fading,
    "bitflip": BitFlip,
    "activation": ActivationQuant,
    "analog": Analog,
    "uncoded": UncodedPacket,
}


def make_operator(spec: str | ChannelOperator, **params: Any) -> ChannelOperator:
    """An operator from its name (``erasure``, ``fading``, ``bitflip``, ``activation``, ``analog``,
    ``uncoded``) and parameters, or as given."""
    if isinstance(spec, ChannelOperator):
        return spec
    if spec not in OPERATORS:
        raise ConfigError(
            f"unknown operator {spec!r}{suggest(str(spec), OPERATORS)}; allowed: {sorted(OPERATORS)}"
        )
    try:
        return OPERATORS[spec](**params)
    except TypeError as exc:
        raise ConfigError(f"operator {spec!r}: {exc}") from None
