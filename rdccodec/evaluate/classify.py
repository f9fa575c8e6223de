"""ImageNet top-1/top-5 of an EfficientNet-Lite classifier on decoded images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..backbones import efficientnet_lite, normalise
from ..errors import RDCError


def imagenet_labels(paths: list[Path]) -> dict[Path, int]:
    """Class index = position of the file name's nXXXXXXXX id among the sorted 1000 ids."""
    wnids = sorted({p.name.split("_")[0] for p in paths})
    if len(wnids) != 1000:
        raise RDCError(f"--task classify expects one image per ImageNet class, named by its nXXXXXXXX id "
                       f"(1000 classes); found {len(wnids)}")
    index = {w: i for i, w in enumerate(wnids)}
    return {p: index[p.name.split("_")[0]] for p in paths}


class Classifier:
    """Sees the centre 224×224 of a 256×256 image, with ImageNet normalisation."""

    def __init__(self, variant: int):
        self.model = efficientnet_lite(variant)

    def topk(self, array: np.ndarray, label: int) -> tuple[bool, bool]:
        h, w = array.shape[:2]
        top, left = (h - 224) // 2, (w - 224) // 2
        crop = array[top:top + 224, left:left + 224]
        x = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            best = self.model(normalise(x))[0].topk(5).indices.tolist()
        return best[0] == label, label in best
