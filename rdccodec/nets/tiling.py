"""Run a fully convolutional transform over a large image in overlapping tiles.

Each tile is extended by a margin wider than the transform's receptive field
and cropped back, so the result equals the whole-image computation (to
floating-point summation order) — no seams — while memory follows the tile,
not the image. Tiling is a property of this implementation, not of the
bitstream.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor


class PaddedImage:
    """An H×W×3 uint8 image seen as a (1, 3, H', W') tensor in [0, 1], edge-replicated to the padded size
    H'×W'; a slice is materialised on demand, so no whole-image float copy exists."""

    def __init__(self, array: np.ndarray, padded: tuple[int, int], dtype: torch.dtype):
        self.array, self.padded, self.dtype = array, padded, dtype

    def __getitem__(self, key) -> Tensor:
        _, rows, cols = key
        h, w = self.array.shape[:2]
        (top, bottom, _), (left, right, _) = rows.indices(self.padded[0]), cols.indices(self.padded[1])
        # padding only ever extends the bottom and right, and every slice starts inside the image
        inside = self.array[top:min(bottom, h), left:min(right, w)]
        tile = np.pad(inside, ((0, max(0, bottom - h)), (0, max(0, right - w)), (0, 0)), mode="edge")
        return torch.from_numpy(tile).permute(2, 0, 1)[None].to(self.dtype) / 255


def run_tiled(fn: Callable[..., Tensor], inputs: list[tuple[Tensor, int]], out_scale: int,
              grid: tuple[int, int], tile: int, margin: int) -> Tensor:
    """Apply `fn` tile by tile.

    Coordinates are counted on a base grid of size `grid` (e.g. the latent
    grid); an input with scale s has s×s pixels per grid cell, and the output
    has `out_scale`×`out_scale`. `tile` and `margin` are in grid cells.
    """
    height, width = grid
    if height * width <= (tile + 2 * margin) ** 2:  # no larger than one tile with its margins: run whole
        return fn(*(t[..., :height * s, :width * s] for t, s in inputs))
    output = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            e_top, e_left = max(0, top - margin), max(0, left - margin)
            e_bottom, e_right = min(height, bottom + margin), min(width, right + margin)
            pieces = [t[..., e_top * s:e_bottom * s, e_left * s:e_right * s] for t, s in inputs]
            result = fn(*pieces)
            if output is None:
                output = result.new_empty((result.shape[0], result.shape[1], height * out_scale, width * out_scale))
            o = out_scale
            output[..., top * o:bottom * o, left * o:right * o] = result[
                ..., (top - e_top) * o:(bottom - e_top) * o, (left - e_left) * o:(right - e_left) * o]
    return output
