"""Training photos decoded once into memory; random crops with flips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..batches import IMAGE_SUFFIXES
from ..errors import RDCError


def find_images(folders: list[str]) -> list[Path]:
    paths = sorted(
        p for folder in folders for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not paths:
        raise RDCError(f"no images under {', '.join(folders)}")
    return paths


def load_photo(path: Path) -> torch.Tensor:
    """A photo as a (3, H, W) uint8 tensor."""
    with Image.open(path) as im:
        return torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)


class CropSampler:
    """Keeps every photo of its shard as a uint8 tensor and samples (B, 3, crop, crop) float batches.

    `shard` (index, count) keeps every count-th photo from the index-th: distributed ranks see disjoint photos.
    """

    def __init__(self, folders: list[str], crop: int, seed: int, shard: tuple[int, int] = (0, 1)):
        self.crop = crop
        self.photos = []
        index, count = shard
        for path in tqdm(find_images(folders)[index::count], desc="decoding photos", leave=False):
            photo = load_photo(path)
            if min(photo.shape[1:]) >= crop:
                self.photos.append(photo)
        if not self.photos:
            raise ValueError(f"no photo is at least {crop} pixels on each side")
        self.generator = torch.Generator().manual_seed(seed)

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def sample(self, batch: int) -> torch.Tensor:
        crops = []
        for _ in range(batch):
            photo = self.photos[self._randint(len(self.photos))]
            top = self._randint(photo.shape[1] - self.crop + 1)
            left = self._randint(photo.shape[2] - self.crop + 1)
            crop = photo[:, top:top + self.crop, left:left + self.crop]
            if self._randint(2):
                crop = crop.flip(2)
            crops.append(crop)
        return torch.stack(crops).float() / 255
