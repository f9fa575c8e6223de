"""Dense feature fidelity: how much of a held-out backbone's spatial features a decoded image keeps.

Detectors and segmenters read feature maps location by location, which a classifier's top-1 does not see.
The judge is EfficientNet-Lite2, a network the training loss never saw (it uses Lite0).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..backbones import efficientnet_lite, stride_maps

METRICS = ("dense8", "dense16", "dense32")


class DenseFidelity:
    """Mean cosine similarity, location by location, of feature maps at strides 8, 16 and 32."""

    def __init__(self, variant: int = 2):
        self.model = efficientnet_lite(variant)

    @torch.no_grad()
    def maps(self, array: np.ndarray) -> list[torch.Tensor]:
        x = torch.from_numpy(np.array(array)).permute(2, 0, 1)[None].float() / 255
        return stride_maps(self.model, x)

    def similarity(self, original: list[torch.Tensor], decoded: np.ndarray) -> dict[str, float]:
        """`original` is :meth:`maps` of the original image, computed once per image."""
        return {name: F.cosine_similarity(a, b, dim=1).mean().item()
                for name, a, b in zip(METRICS, original, self.maps(decoded))}
