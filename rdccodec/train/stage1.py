"""Stage I: the primary branch with gain units, trained for rate + λ_level·(cognition + local MSE)."""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .losses import CognitionLoss, bits_per_pixel, feature_distance, geometric_lambda, local_mse, location_infonce

# λ weighs 255²·MSE-scaled distortions, as in CompressAI's λ convention.
LAMBDA_LOW, LAMBDA_HIGH = 0.001, 0.05
COGNITION_WEIGHT = 10.0    # InfoNCE (nats) in units of 255²·MSE; 100 held x̂1 at ~20 dB (see README)
FIDELITY_WEIGHT = 1.0      # pixel fidelity beside the cognition loss
TEMPERATURE = 0.1
# --spatial-cognition's forms (docs/training.md): how two feature maps are compared (mean of strides 8/16/32)
# and the weight, in units of 255²·MSE: the distance (1 − cosine), or the InfoNCE over locations (nats),
# weighted to the distance term's share of the loss on the shipped weights (0.209 × 200 against 1.52 nats × 27 on
# 24 batches of training crops at levels 0, 3, 5).
SPATIAL_TERMS = {"distance": (feature_distance, 200.0),
                 "contrastive": (functools.partial(location_infonce, temperature=TEMPERATURE), 27.0)}


def build(model, settings):
    low, high = settings.lambdas or (LAMBDA_LOW, LAMBDA_HIGH)
    # the distance is logged beside the loss even when not trained for
    term, form_weight = SPATIAL_TERMS[settings.spatial_cognition or "distance"]
    spatial_weight = (form_weight if settings.spatial_weight is None else settings.spatial_weight) \
        if settings.spatial_cognition else 0.0
    cognition = CognitionLoss(temperature=TEMPERATURE, spatial=term)
    levels = model.config.levels
    model.residual.requires_grad_(False)  # not trained here; frozen, distributed training leaves it alone

    def step(model, x, generator):
        level = (torch.rand(len(x), generator=generator) * (levels - 1)).to(x.device)
        out = model.primary(x, level)
        bpp = bits_per_pixel(out["likelihoods"], x.shape[2] * x.shape[3])
        mse = F.mse_loss(out["x_hat"], x, reduction="none").flatten(1).mean(1)
        local = local_mse(out["x_hat"])
        nce, spatial = cognition(out["x_hat"], x)
        lam = geometric_lambda(low, high, levels, level)
        distortion = 255**2 * (FIDELITY_WEIGHT * mse + local) + COGNITION_WEIGHT * nce + spatial_weight * spatial
        loss = (bpp + lam * distortion).mean()
        psnr = -10 * torch.log10(mse.mean())
        return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean(), "psnr": psnr,
                "local_mse": local.mean(), "infonce": nce.mean(), "spatial": spatial.mean()}

    return list(model.primary.named_parameters()), step, cognition
