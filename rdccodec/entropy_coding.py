"""Entropy coding of a gained-hyperprior latent, in horizontal bands.

ẑ is coded whole (it has 1/4096 of the pixels). ŷ is coded band by band: a
band's means and scales come from h_s run, in float64 and identically on both
sides, on the rows of ẑ the band needs plus a margin, so memory follows the
band, not the image, and the decoder selects exactly the encoder's tables. Each
channel group gets one rANS string per band and one CRC-32 over the symbols of
all its bands.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch
from torch import Tensor

from .errors import LatentMismatch
from .nets.blocks import GainedHyperprior, guard, symbols_crc

Z_MARGIN = 3
"""Rows of ẑ read beyond a band on each side: more than h_s reaches (two 5×5 stride-2 deconvolutions
and a 3×3 convolution reach 2 rows of ẑ)."""


@dataclasses.dataclass
class Coded:
    z: bytes
    strings: list[list[bytes]]
    """[group][band]"""
    crcs: list[int]
    y_hat: Tensor
    """The dequantised latent as the decoder will see it, float32."""


def _bands(rows: int, band_rows: int):
    for top in range(0, rows, band_rows):
        yield top, min(rows, top + band_rows)


def _band_params(hyperprior: GainedHyperprior, z_hat: Tensor, top: int, bottom: int, gain: Tensor):
    z_top = max(0, top // 4 - Z_MARGIN)
    z_bottom = min(z_hat.shape[2], -(-bottom // 4) + Z_MARGIN)
    means, scales = hyperprior.params(z_hat[:, :, z_top:z_bottom], gain)
    rows = slice(top - 4 * z_top, bottom - 4 * z_top)
    means, scales = means[:, :, rows], scales[:, :, rows]
    return means, hyperprior.gaussian_conditional.build_indexes(scales)


def encode(hyperprior: GainedHyperprior, y: Tensor, z: Tensor, level: float, band_rows: int) -> Coded:
    """Code latent `y` (batch of 1) given its hyper latent `z` = h_a(y); `hyperprior` must be float64."""
    gain, inverse = hyperprior.gains(level)
    z_string = hyperprior.entropy_bottleneck.compress(z.to(torch.float64))[0]
    z_hat = hyperprior.entropy_bottleneck.decompress([z_string], z.shape[-2:])  # exactly the decoder's ẑ
    groups = hyperprior.groups
    strings: list[list[bytes]] = [[] for _ in range(groups)]
    crcs = [0] * groups
    y_hat = torch.empty(y.shape, dtype=torch.float32)
    for top, bottom in _bands(y.shape[2], band_rows):
        means, indexes = _band_params(hyperprior, z_hat, top, bottom, gain)
        symbols = torch.round(y[:, :, top:bottom].to(torch.float64) * gain - means)
        for g, (sym, idx) in enumerate(zip(symbols.chunk(groups, 1), indexes.chunk(groups, 1))):
            strings[g].append(hyperprior.gaussian_conditional.compress(sym.contiguous(), idx.contiguous())[0])
            crcs[g] = symbols_crc(sym, crcs[g])
        y_hat[:, :, top:bottom] = (symbols + means) * inverse
    return Coded(z_string, strings, crcs, y_hat)


def decode(hyperprior: GainedHyperprior, z: bytes, strings: list[tuple[bytes, ...]], crcs: list[int],
           level: float, shape: tuple[int, int], band_rows: int, what: Callable[[int], str]) -> Tensor:
    """ŷ (float32) from the first len(strings) channel groups; the groups above are zero, as in training.

    Raises LatentMismatch naming `what(group)` when a group's symbols fail their CRC.
    """
    gain, inverse = hyperprior.gains(level)
    bottleneck = hyperprior.entropy_bottleneck
    z_shape = (shape[0] // 4, shape[1] // 4)
    z_hat = bottleneck.decompress([guard(z, bottleneck.channels * z_shape[0] * z_shape[1])], z_shape)
    per_group = hyperprior.channels // hyperprior.groups
    decoded = len(strings) * per_group
    y_hat = torch.zeros((1, hyperprior.channels, *shape), dtype=torch.float32)
    found = [0] * len(strings)
    for band, (top, bottom) in enumerate(_bands(shape[0], band_rows)):
        means, indexes = _band_params(hyperprior, z_hat, top, bottom, gain)
        symbols = torch.zeros_like(means[:, :decoded])
        for g, group_strings in enumerate(strings):
            channels = slice(g * per_group, (g + 1) * per_group)
            idx = indexes[:, channels].contiguous()
            sym = hyperprior.gaussian_conditional.decompress(
                [guard(group_strings[band], idx.numel())], idx, dtype=torch.float64)
            found[g] = symbols_crc(sym, found[g])
            symbols[:, channels] = sym
        y_hat[:, :decoded, top:bottom] = (symbols + means[:, :decoded]) * inverse[:, :decoded]
    for g, (expected, got) in enumerate(zip(crcs, found)):
        if expected != got:
            raise LatentMismatch(
                f"{what(g)}: decoded latent differs from the encoder's (checksum mismatch); "
                "the decoder's entropy parameters do not match the encoder's"
            )
    return y_hat
