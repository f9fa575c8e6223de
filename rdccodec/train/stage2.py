"""Stage II: the residual layers on a frozen primary branch."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ..nets.blocks import LevelGains
from .losses import bits_per_pixel
from .loop import geometric_lambda

LAMBDA_LOW, LAMBDA_HIGH = 0.001, 0.05
# layer k of K is trained at λ_level·2^k: each added layer is a finer operating point
LAYER_FACTOR = 2.0


def _fresh(layer: torch.nn.Module) -> torch.nn.Module:
    fresh = copy.deepcopy(layer)
    fresh.reset_parameters()
    return fresh


@torch.no_grad()
def retrain_from_layer(residual, first: int) -> None:
    """Re-initialise the latent channels of layers `first`…K and leave only them, and the hyperprior that
    codes every layer, to train; the analysis, context and synthesis of the earlier layers stay frozen.

    Trained jointly from the start, the later layers' channels died (≤ 0.07 % non-zero symbols in the
    session-5 weights): the first layer learnt to carry everything and rate pressure held the others at
    their hyperprior mean. Fresh channels beside a frozen first layer lower the loss only by carrying
    what that layer misses.
    """
    hyper = residual.hyperprior
    channels = hyper.channels
    new = slice((first - 1) * channels // hyper.groups, channels)
    g_a, merge, h_s = residual.g_a[-1], residual.merge, hyper.h_s[-1]
    g_a_0, merge_0, h_s_0 = _fresh(g_a), _fresh(merge), _fresh(h_s)
    g_a.weight[new], g_a.bias[new] = g_a_0.weight[new], g_a_0.bias[new]
    merge.weight[:, new] = merge_0.weight[:, new]
    for rows in (new, slice(channels + new.start, 2 * channels)):  # means, then scales
        h_s.weight[rows], h_s.bias[rows] = h_s_0.weight[rows], h_s_0.bias[rows]
    gains_0 = LevelGains(hyper.gains.levels, channels).to(hyper.gains.log_base)
    for name in ("log_base", "raw_steps", "log_inverse"):
        getattr(hyper.gains, name)[..., new] = getattr(gains_0, name)[..., new]
    residual.requires_grad_(False)
    hyper.requires_grad_(True)
    for param, index in ((g_a.weight, new), (g_a.bias, new), (merge.weight, (slice(None), new))):
        mask = torch.zeros_like(param)
        mask[index] = 1
        param.requires_grad_(True)
        param.register_hook(lambda grad, mask=mask: grad * mask)


def build(model, settings):
    low, high = settings.lambdas or (LAMBDA_LOW, LAMBDA_HIGH)
    levels, layers = model.config.levels, model.config.layers
    model.primary.requires_grad_(False)
    if settings.retrain_from_layer:
        retrain_from_layer(model.residual, settings.retrain_from_layer)

    def step(model, x, generator):
        model.primary.eval()
        level = torch.rand(len(x), generator=generator) * (levels - 1)
        active = torch.randint(1, layers + 1, (len(x),), generator=generator)
        with torch.no_grad():
            x_hat = model.primary(x, level)["x_hat"].clamp(0, 1)
        out = model.residual(x - x_hat, x_hat, level, active)
        bpp = bits_per_pixel(out["likelihoods"], x.shape[2] * x.shape[3])
        mse = F.mse_loss(x_hat + out["r_hat"], x, reduction="none").flatten(1).mean(1)
        lam = geometric_lambda(low, high, levels, level) * LAYER_FACTOR ** active
        loss = (bpp + lam * 255**2 * mse).mean()
        return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean(),
                "psnr": -10 * torch.log10(mse.mean()), "layers": active.float().mean()}

    return [(n, p) for n, p in model.residual.named_parameters() if p.requires_grad], step, torch.nn.Module()
