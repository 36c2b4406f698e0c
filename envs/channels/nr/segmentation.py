"""LDPC base-graph selection and code-block segmentation of an NR transport block (TS 38.212).

For a transport block of ``A`` payload bits and target code rate ``R`` (vectorised, broadcast):

1. TB CRC [S: TS 38.212 6.2.1 / 7.2.1]: ``L_TB = 24`` bits if ``A > 3824``, else 16; ``B = A + L_TB``.
2. Base graph [S: TS 38.212 6.2.2 / 7.2.2]: BG2 if ``A <= 292``, or ``A <= 3824 and R <= 0.67``, or
   ``R <= 0.25``; otherwise BG1.
3. Segmentation [S: TS 38.212 5.2.2]: ``K_cb = 8448`` (BG1) or 3840 (BG2). If ``B <= K_cb``: ``C = 1``,
   ``B' = B``; else ``L = 24`` CB CRC bits, ``C = ceil(B / (K_cb - 24))``, ``B' = B + 24 C``. Bits per code
   block ``K' = B' / C`` (the spec pads with filler bits to ``K``).
4. Lifting size [S: TS 38.212 5.2.2 and Table 5.3.2-1]: ``K_b = 22`` (BG1); for BG2 ``K_b = 10`` if
   ``B > 640``, 9 if ``B > 560``, 8 if ``B > 192``, else 6. ``Z_c`` is the smallest lifting size in
   Table 5.3.2-1 (``Z = a 2^j <= 384``, ``a`` in {2, 3, 5, 7, 9, 11, 13, 15}) with ``K_b Z_c >= K'``;
   ``K = 22 Z_c`` (BG1) or ``10 Z_c`` (BG2).

The rules were cross-checked with ns-3 5G-LENA ``NrEesmErrorModel::GetBaseGraphType`` /
``CodeBlockSegmentation`` (which always uses a 24-bit TB CRC and ``>=`` in the ``K_b`` rule) and Sionna
v1.2.1 ``calculate_tb_size`` / ``LDPC5GEncoder`` (16/24-bit TB CRC and strict ``>`` as here).
Example: one fp16 Llama-2-7B hidden state, ``A = 65536`` bit, ``R > 0.25`` -> BG1, ``C = 8``,
``K' = 8219``, ``Z_c = 384``, ``K = 8448``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks

__all__ = ["LIFTING_SIZES", "Segmentation", "base_graph", "segment", "tb_crc_bits"]

LIFTING_SIZES: NDArray[np.int64] = np.array(
    sorted({a * 2**j for a in (2, 3, 5, 7, 9, 11, 13, 15) for j in range(8) if a * 2**j <= 384}),
    dtype=np.int64,
)
"""All LDPC lifting sizes ``Z`` of TS 38.212 Table 5.3.2-1 (51 values, 2 ... 384), ascending."""
LIFTING_SIZES.setflags(write=False)

K_CB_MAX = {1: 8448, 2: 3840}
"""Maximum code-block size ``K_cb`` in bits per base graph, TS 38.212 5.2.2."""


@dataclass(frozen=True)
class Segmentation:
    """Result of :func:`segment`; every field has the broadcast shape of ``(tb_bits, code_rate)``."""

    base_graph: NDArray[np.int64]
    """LDPC base graph, 1 or 2."""
    tb_crc_bits: NDArray[np.int64]
    """TB CRC length ``L_TB`` (16 or 24)."""
    n_code_blocks: NDArray[np.int64]
    """Number of code blocks ``C``."""
    cb_bits: NDArray[np.float64]
    """Bits per code block incl. CRCs, ``K' = B'/C`` (the code-block size used for the BLER)."""
    lifting_size: NDArray[np.int64]
    """Lifting size ``Z_c``."""
    k_bits: NDArray[np.int64]
    """LDPC information length ``K`` (``22 Z_c`` or ``10 Z_c``) incl. filler bits."""


def tb_crc_bits(tb_bits: ArrayLike) -> NDArray[np.int64]:
    """TB CRC length: 24 bits if ``A > 3824``, else 16 (TS 38.212 6.2.1 / 7.2.1)."""
    a = _checks.array("tb_bits", tb_bits, gt=0.0)
    return np.where(a > 3824, 24, 16).astype(np.int64)


def base_graph(tb_bits: ArrayLike, code_rate: ArrayLike) -> NDArray[np.int64]:
    """LDPC base graph (1 or 2) for payload ``A`` bits at code rate ``R`` (TS 38.212 6.2.2 / 7.2.2)."""
    a = _checks.array("tb_bits", tb_bits, gt=0.0)
    r = _checks.array("code_rate", code_rate, gt=0.0, lt=1.0)
    bg2 = (a <= 292) | ((a <= 3824) & (r <= 0.67)) | (r <= 0.25)
    return np.where(bg2, 2, 1).astype(np.int64)


def segment(tb_bits: ArrayLike, code_rate: ArrayLike) -> Segmentation:
    """Base graph, CRCs, number and size of code blocks for ``A = tb_bits`` at ``R = code_rate``."""
    a = _checks.array("tb_bits", tb_bits, gt=0.0)
    r = _checks.array("code_rate", code_rate, gt=0.0, lt=1.0)
    a, r = np.broadcast_arrays(a, r)
    bg = base_graph(a, r)
    crc = tb_crc_bits(a)
    b = a + crc
    k_cb = np.where(bg == 1, K_CB_MAX[1], K_CB_MAX[2])
    single = b <= k_cb
    n_cb = np.where(single, 1, np.ceil(b / (k_cb - 24))).astype(np.int64)
    b_prime = np.where(single, b, b + 24 * n_cb)
    k_prime = b_prime / n_cb
    k_b = np.where(bg == 1, 22, np.select([b > 640, b > 560, b > 192], [10, 9, 8], default=6))
    # smallest Z with K_b Z >= K' (ceil with a tolerance so integral ratios are not bumped up)
    need = np.ceil(k_prime / k_b - 1e-9)
    idx = np.minimum(np.searchsorted(LIFTING_SIZES, need, side="left"), LIFTING_SIZES.size - 1)
    z = LIFTING_SIZES[idx]
    k = np.where(bg == 1, 22 * z, 10 * z).astype(np.int64)
    return Segmentation(
        base_graph=bg,
        tb_crc_bits=crc,
        n_code_blocks=n_cb,
        cb_bits=np.asarray(k_prime, dtype=np.float64),
        lifting_size=z.astype(np.int64),
        k_bits=k,
    )
