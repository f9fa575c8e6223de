"""Primary (cognition-oriented) branch: transform codec with a gained hyperprior."""
from __future__ import annotations

from torch import Tensor, nn

from .blocks import GainedHyperprior, analysis, synthesis


class PrimaryBranch(nn.Module):
    """x → g_a → y (1/16 resolution) → gained hyperprior → ŷ → g_s → x̂1."""

    def __init__(self, hidden: int, latent: int, hyper: int, levels: int):
        super().__init__()
        self.g_a = analysis(3, hidden, latent, 4)
        self.g_s = synthesis(latent, hidden, 3, 4)
        self.hyperprior = GainedHyperprior((latent,), hyper, levels)

    def forward(self, x: Tensor, level: Tensor) -> dict:
        out = self.hyperprior(self.g_a(x), level)
        return {"x_hat": self.g_s(out["y_hat"]), "y_hat": out["y_hat"], "likelihoods": out["likelihoods"]}
