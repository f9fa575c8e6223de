"""Stage II: the residual layers on a frozen primary branch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .losses import bits_per_pixel, geometric_lambda

LAMBDA_LOW, LAMBDA_HIGH = 0.001, 0.05
# layer k of K is trained at λ_level·2^k: each added layer is a finer operating point
LAYER_FACTOR = 2.0


def build(model, settings):
    low, high = settings.lambdas or (LAMBDA_LOW, LAMBDA_HIGH)
    levels, layers = model.config.levels, model.config.layers
    model.primary.requires_grad_(False)

    def step(model, x, generator):
        model.primary.eval()
        level = (torch.rand(len(x), generator=generator) * (levels - 1)).to(x.device)
        active = torch.randint(1, layers + 1, (len(x),), generator=generator).to(x.device)
        with torch.no_grad():
            x_hat = model.primary(x, level)["x_hat"].clamp(0, 1)
        out = model.residual(x - x_hat, x_hat, level, active)
        bpp = bits_per_pixel(out["likelihoods"], x.shape[2] * x.shape[3])
        mse = F.mse_loss(x_hat + out["r_hat"], x, reduction="none").flatten(1).mean(1)
        lam = geometric_lambda(low, high, levels, level) * LAYER_FACTOR ** active
        loss = (bpp + lam * 255**2 * mse).mean()
        return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean(),
                "psnr": -10 * torch.log10(mse.mean()), "layers": active.float().mean()}

    return list(model.residual.named_parameters()), step, torch.nn.Module()
