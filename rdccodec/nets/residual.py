"""Auxiliary (distortion-oriented) branch: the residual x − x̂1 as K scalable layers."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import GainedHyperprior, analysis, conv, synthesis


class ResidualBranch(nn.Module):
    """Codes r = x − x̂1 with x̂1 as context on both sides.

    The residual latent (1/8 resolution) is split into K channel groups of
    `layer_channels`, one per layer. Layers are nested: decoding the first k
    groups (the rest set to zero, exactly as in training) gives r_k. The synthesis sees x̂1 as well,
    rearranged to 1/8 resolution by a pixel unshuffle, so the decoder's context
    costs no bits. Entropy parameters depend only on the residual's own hyper
    latent, never on x̂1, which keeps table selection independent of the
    primary synthesis.
    """

    def __init__(self, hidden: int, synthesis_hidden: int, layer_channels: tuple[int, ...], hyper: int,
                 levels: int):
        super().__init__()
        latent = sum(layer_channels)
        self.g_a = analysis(6, hidden, latent, 3)
        self.context = conv(3 * 64, synthesis_hidden, 3, 1)
        self.merge = conv(latent + synthesis_hidden, synthesis_hidden, 3, 1)
        self.g_s = synthesis(synthesis_hidden, synthesis_hidden, 3, 3)
        self.hyperprior = GainedHyperprior(layer_channels, hyper, levels)

    def analyse(self, residual: Tensor, x_hat: Tensor) -> Tensor:
        return self.g_a(torch.cat([residual, x_hat], 1))

    def synthesise(self, y_hat: Tensor, x_hat: Tensor) -> Tensor:
        context = self.context(F.pixel_unshuffle(x_hat, 8))
        return self.g_s(F.leaky_relu(self.merge(torch.cat([y_hat, context], 1))))

    def forward(self, residual: Tensor, x_hat: Tensor, level: Tensor, active_layers: Tensor) -> dict:
        out = self.hyperprior(self.analyse(residual, x_hat), level, active_layers)
        return {"r_hat": self.synthesise(out["y_hat"], x_hat), "likelihoods": out["likelihoods"]}
