"""Checkerboard context (He et al., CVPR 2021) on a gained hyperprior's latent, trained with the transforms.

Context models pay when the transforms learn with them (Minnen et al. 2018; He et al. 2021), not as an
add-on to frozen latents (issue 38's probes: −0.2 to −0.3 %), so this one is part of the model that
stage I trains. The coder reads it in two passes per band (entropy_coding.py; streams of version 3.0).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import conv


class CheckerboardContext(nn.Module):
    """Anchors (cells whose row + column is even) are coded from the hyperprior alone; every other cell's
    mean and scale are corrected from the decoded anchors around it (two passes of the coder). It reads
    and corrects the latent in its own units (ŷ, not the gained symbols), so one network serves every
    rate level. Its last layer starts at zero: a model that gains a context computes exactly what it did
    before, and training goes on from there."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            conv(channels, hidden, 5, 1), nn.LeakyReLU(inplace=True),
            conv(hidden, hidden, 1, 1), nn.LeakyReLU(inplace=True),
            conv(hidden, 2 * channels, 1, 1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    @staticmethod
    def anchors(like: Tensor) -> Tensor:
        """1 at the anchor cells of a latent shaped like `like`, as (1, 1, H, W)."""
        h, w = like.shape[-2:]
        rows = torch.arange(h, device=like.device)[:, None]
        cols = torch.arange(w, device=like.device)[None]
        return ((rows + cols) % 2 == 0).to(like.dtype)[None, None]

    def forward(self, anchor_hat: Tensor) -> tuple[Tensor, Tensor]:
        """Corrections, zero at the anchors, of the means (added, in ŷ units) and of the log-scales (a gain
        multiplies both sides of a scale, so the correction is the same at every level), from `anchor_hat`:
        ŷ at the anchors and zero elsewhere."""
        mean, scale = self.net(anchor_hat).chunk(2, 1)
        others = 1 - self.anchors(anchor_hat)
        return mean * others, scale * others
