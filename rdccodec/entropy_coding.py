"""Entropy coding of a gained-hyperprior latent, in horizontal bands.

ẑ is coded whole (it has 1/4096 of the pixels). ŷ is coded band by band: a
band's means and scales come from the exact h_s (nets/exact.py), run
identically on both sides on the rows of ẑ the band needs plus a margin, so memory follows the
band, not the image, and the decoder selects exactly the encoder's tables. Each
channel group gets one rANS string per band and one CRC-32 over the symbols of
all its bands.
"""
from __future__ import annotations

import array
import dataclasses
import functools
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .errors import LatentMismatch
from .nets.blocks import GainedHyperprior, RansDecoder, RansEncoder, guard, symbols_crc

Z_MARGIN = 2
"""Rows of ẑ read beyond a band on each side: as far as h_s reaches (measured on the shipped model by
perturbing one row of ẑ), so a band's parameters equal the whole image's."""


@dataclasses.dataclass
class Coded:
    z: bytes
    strings: list[list[bytes]]
    """[group][band]"""
    crcs: list[int]
    y_hat: Tensor | None
    """The dequantised latent as the decoder will see it (float32), if asked for."""


def _bands(rows: int, band_rows: int):
    for top in range(0, rows, band_rows):
        yield top, min(rows, top + band_rows)


def _band_params(hyperprior: GainedHyperprior, z_hat: Tensor, top: int, bottom: int, gain: Tensor):
    """Means and scales of the gained latent in latent rows [top, bottom), from the hyperprior alone."""
    z_top = max(0, top // 4 - Z_MARGIN)
    z_bottom = min(z_hat.shape[2], -(-bottom // 4) + Z_MARGIN)
    means, scales = hyperprior.params(z_hat[:, :, z_top:z_bottom], gain)
    rows = slice(top - 4 * z_top, bottom - 4 * z_top)
    return means[:, :, rows], scales[:, :, rows]


def _anchors(hyperprior: GainedHyperprior, like: Tensor) -> Tensor | None:
    """Where the hyperprior has a checkerboard context: True at a band's anchor cells, coded first (band
    tops are even rows, so a band's pattern is the whole latent's); None without one: one pass."""
    return None if hyperprior.context is None else hyperprior.context.anchors(like)[0, 0].bool()


def _second_pass(hyperprior: GainedHyperprior, means: Tensor, scales: Tensor, symbols: Tensor,
                 anchors: Tensor, gain: Tensor, inverse: Tensor) -> tuple[Tensor, Tensor]:
    """Every cell's means and scales once a band's anchor `symbols` are known. The context sees the
    band's anchors only (zero beyond its edges), so that each band stays decodable on its own."""
    anchor_hat = torch.where(anchors, (symbols + means) * inverse, 0).float()
    return hyperprior.corrected(means, scales, anchor_hat, gain)


def scale_indexes(conditional, scales: Tensor) -> Tensor:
    """CompressAI's GaussianConditional.build_indexes — the number of table scales below σ (σ bounded
    below by the least) — as one bucketize instead of 63 comparisons of the whole latent: the same
    integers, a tenth of the time (measured: 30 → 3 ms per 768×512 encode)."""
    table = conditional.scale_table[:-1].to(scales.dtype)
    return torch.bucketize(conditional.lower_bound_scale(scales).contiguous(), table).int()


@functools.cache
def _tables(conditional) -> tuple[list, list, list]:
    """A GaussianConditional's integer CDF tables as the Python lists CompressAI's rANS coder takes, built
    once: its own compress/decompress rebuild them on every call."""
    return (conditional._quantized_cdf.tolist(), conditional._cdf_length.reshape(-1).int().tolist(),
            conditional._offset.reshape(-1).int().tolist())


def _tables_up_to(conditional, indexes: Tensor) -> tuple[list, list, list]:
    """The tables up to the largest index used: the coder converts every table it is given into C++
    vectors on each call, 1.7 ms for all 64; a 768×512 image at the top rate uses up to the 46th, and the
    first 46 hold 11 % of the entries (the large scales have the long tables)."""
    used = int(indexes.max()) + 1
    return tuple(table[:used] for table in _tables(conditional))


def rans_encode(conditional, symbols: Tensor, indexes: Tensor) -> bytes:
    """Integer symbols with their table indexes, through CompressAI's rANS coder."""
    return RansEncoder().encode_with_indexes(symbols.reshape(-1).int().tolist(), indexes.reshape(-1).tolist(),
                                             *_tables_up_to(conditional, indexes))


class RansReader:
    """Symbols read from one rANS string in passes, each pass with the table indexes it needs (a
    checkerboard band reads its anchors, then the other cells with indexes that depend on them)."""

    def __init__(self, conditional, string: bytes, symbols: int):
        self.conditional = conditional
        self.decoder = RansDecoder()
        self.decoder.set_stream(guard(string, symbols))

    def read(self, indexes: Tensor) -> Tensor:
        """int32 symbols shaped like `indexes`. The coder returns a Python list: through array.array it
        becomes a tensor three times faster than through torch.tensor (measured: 10 vs 32 ms for 600 000)."""
        values = self.decoder.decode_stream(indexes.reshape(-1).tolist(),
                                            *_tables_up_to(self.conditional, indexes))
        return torch.from_numpy(np.frombuffer(array.array("i", values), dtype=np.int32)).reshape(indexes.shape)


def encode(hyperprior: GainedHyperprior, y: Tensor, z: Tensor, level: float, band_rows: int,
           dequantise: bool) -> Coded:
    """Code latent `y` (batch of 1) given its hyper latent `z` = h_a(y); `hyperprior` is the decoder's
    (float64 with the exact h_s).
    With `dequantise`, also return ŷ (the residual's is not needed by the encoder: 6 bytes a pixel)."""
    gain, inverse = hyperprior.gains(level)
    z_string = hyperprior.entropy_bottleneck.compress(z.to(torch.float64))[0]
    z_hat = hyperprior.entropy_bottleneck.decompress([z_string], z.shape[-2:])  # exactly the decoder's ẑ
    groups = hyperprior.group_slices()
    strings: list[list[bytes]] = [[] for _ in groups]
    crcs = [0] * len(groups)
    y_hat = torch.empty(y.shape, dtype=torch.float32) if dequantise else None
    conditional = hyperprior.gaussian_conditional
    for top, bottom in _bands(y.shape[2], band_rows):
        means, scales = _band_params(hyperprior, z_hat, top, bottom, gain)
        gained = y[:, :, top:bottom].to(torch.float64) * gain
        symbols = torch.round(gained - means)
        anchors = _anchors(hyperprior, symbols)
        if anchors is not None:
            means, scales = _second_pass(hyperprior, means, scales, symbols, anchors, gain, inverse)
            symbols = torch.where(anchors, symbols, torch.round(gained - means))
        indexes = scale_indexes(conditional, scales)
        for g, channels in enumerate(groups):
            sym, idx = symbols[:, channels], indexes[:, channels]
            if anchors is not None:  # anchors first, then the others, each in C order
                sym = torch.cat([sym[..., anchors].reshape(-1), sym[..., ~anchors].reshape(-1)])
                idx = torch.cat([idx[..., anchors].reshape(-1), idx[..., ~anchors].reshape(-1)])
            strings[g].append(rans_encode(conditional, sym, idx))
            crcs[g] = symbols_crc(symbols[:, channels], crcs[g])
        if dequantise:
            y_hat[:, :, top:bottom] = (symbols + means) * inverse
    return Coded(z_string, strings, crcs, y_hat)


class DecodedLatent:
    """ŷ (float32) of the first len(strings) channel groups (the groups above are zero, as in training),
    decoded band by band when a slice first needs it and forgotten once a slice starts below it.

    Slices come from the tiled synthesis in row-major order, so each band is decoded once, in order, and
    only a few bands are held; :meth:`verify` then checks the symbols' CRCs.
    """

    def __init__(self, hyperprior: GainedHyperprior, z: bytes, strings: list[tuple[bytes, ...]],
                 crcs: list[int], level: float, shape: tuple[int, int], band_rows: int,
                 what: Callable[[int], str]):
        self.hyperprior, self.strings, self.crcs, self.what = hyperprior, strings, crcs, what
        self.shape, self.band_rows = shape, band_rows
        self.gain, self.inverse = hyperprior.gains(level)
        bottleneck = hyperprior.entropy_bottleneck
        z_shape = (shape[0] // 4, shape[1] // 4)
        self.z_hat = bottleneck.decompress([guard(z, bottleneck.channels * z_shape[0] * z_shape[1])], z_shape)
        self.bands = list(_bands(shape[0], band_rows))
        self.held: dict[int, Tensor] = {}
        self.next_band = 0
        self.found = [0] * len(strings)

    def _decode_band(self) -> None:
        band = self.next_band
        hyperprior, top, bottom = self.hyperprior, *self.bands[band]
        conditional = hyperprior.gaussian_conditional
        means, scales = _band_params(hyperprior, self.z_hat, top, bottom, self.gain)
        y_hat = torch.zeros((1, hyperprior.channels, bottom - top, self.shape[1]), dtype=torch.float32)
        anchors = _anchors(hyperprior, y_hat)
        if anchors is None:
            indexes = scale_indexes(conditional, scales)
            for g, (group_strings, channels) in enumerate(zip(self.strings, hyperprior.group_slices())):
                idx = indexes[:, channels].contiguous()
                sym = RansReader(conditional, group_strings[band], idx.numel()).read(idx)
                self.found[g] = symbols_crc(sym, self.found[g])
                y_hat[:, channels] = (sym + means[:, channels]) * self.inverse[:, channels]
        else:  # one channel group: the anchors, then the others with the parameters the context gives them
            reader = RansReader(conditional, self.strings[0][band], means.numel())
            sym = torch.zeros(means.shape, dtype=torch.int32)
            sym[..., anchors] = reader.read(scale_indexes(conditional, scales[..., anchors]))
            means, scales = _second_pass(hyperprior, means, scales, sym, anchors, self.gain, self.inverse)
            sym[..., ~anchors] = reader.read(scale_indexes(conditional, scales[..., ~anchors]))
            self.found[0] = symbols_crc(sym, self.found[0])
            y_hat[:] = (sym + means) * self.inverse
        self.held[band] = y_hat
        self.next_band += 1

    def __getitem__(self, key) -> Tensor:
        _, rows, cols = key
        top, bottom, _ = rows.indices(self.shape[0])
        first, last = top // self.band_rows, (bottom - 1) // self.band_rows
        for band in [b for b in self.held if b < first]:
            del self.held[band]
        while self.next_band <= last:
            self._decode_band()
        y_hat = torch.cat([self.held[b] for b in range(first, last + 1)], 2)
        return y_hat[:, :, top - first * self.band_rows:bottom - first * self.band_rows, cols]

    def verify(self) -> None:
        """Decode what no slice asked for, then raise LatentMismatch if a group's symbols fail their CRC."""
        while self.next_band < len(self.bands):
            self._decode_band()
        self.held.clear()
        for g, (expected, got) in enumerate(zip(self.crcs, self.found)):
            if expected != got:
                raise LatentMismatch(
                    f"{self.what(g)}: decoded latent differs from the encoder's (checksum mismatch); "
                    "the decoder's entropy parameters do not match the encoder's"
                )
