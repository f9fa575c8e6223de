"""Loss terms: rate, the cognition InfoNCE, and the local MSE of the paper."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backbones import efficientnet_lite, normalise


def bits_per_pixel(likelihoods: dict, pixels: int) -> Tensor:
    """Rate per batch element, in bits per pixel."""
    total = sum(torch.log(l).flatten(1).sum(1) for l in likelihoods.values())
    return -total / (math.log(2) * pixels)


def local_mse(x_hat: Tensor) -> Tensor:
    """Squared distance of each pixel to [0, 1] (zero inside): the paper's fix for out-of-range values."""
    return (F.relu(x_hat - 1) ** 2 + F.relu(-x_hat) ** 2).flatten(1).mean(1)


class CognitionLoss(nn.Module):
    """MoCo-style InfoNCE between backbone embeddings of x̂1 (queries) and of x (keys).

    Embeddings are the global average of two depths of a frozen EfficientNet-Lite0
    (the 112-channel stage and the 1280-channel head), each L2-normalised. Each
    query must be closest to its own original among the batch's other originals
    and a queue of recent keys. The supervised backbone stands in for the
    paper's MoCo ResNet-50, which has no offline weights.
    """

    def __init__(self, temperature: float = 0.1, queue_size: int = 1024, variant: int = 0):
        super().__init__()
        self.temperature = temperature
        self.backbone = efficientnet_lite(variant)
        dim = self._embed(torch.zeros(1, 3, 64, 64)).shape[1]
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer("queue_pointer", torch.zeros((), dtype=torch.long))

    def _embed(self, x: Tensor) -> Tensor:
        b = self.backbone
        h = b.bn1(b.conv_stem(normalise(x)))
        pooled = []
        for i, block in enumerate(b.blocks):
            h = block(h)
            if i == 4:
                pooled.append(F.normalize(h.mean((2, 3)), dim=1))
        h = b.bn2(b.conv_head(h))
        pooled.append(F.normalize(h.mean((2, 3)), dim=1))
        return torch.cat(pooled, 1) / math.sqrt(len(pooled))

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """Per-element InfoNCE loss; also pushes this batch's keys into the queue."""
        with torch.no_grad():
            keys = self._embed(x)
        queries = self._embed(x_hat)
        candidates = torch.cat([keys, self.queue.clone()], 0)
        logits = queries @ candidates.t() / self.temperature
        target = torch.arange(len(x), device=x.device)
        loss = F.cross_entropy(logits, target, reduction="none")
        with torch.no_grad():
            n = len(keys)
            idx = (self.queue_pointer + torch.arange(n, device=keys.device)) % len(self.queue)
            self.queue[idx] = keys
            self.queue_pointer.copy_((self.queue_pointer + n) % len(self.queue))
        return loss
