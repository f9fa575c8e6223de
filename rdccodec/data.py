"""Collections of .rdc streams as a PyTorch dataset: store images compressed, decode them while training.

    >>> from torch.utils.data import DataLoader
    >>> from rdccodec.data import RDCDataset
    >>> loader = DataLoader(RDCDataset("coded/", beta=1.0), batch_size=None, num_workers=2)

Each worker process builds its own :class:`~rdccodec.Codec` on first use (a model is not shared across
processes). `rdc encode -r photos/ -o coded/` writes such a tree.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import RDCError


def stream_paths(source: str | Path | list) -> list[Path]:
    """The streams of a folder tree (every .rdc under it, sorted), a list file (one path a line, relative
    to the list file's folder) or a list of paths."""
    if isinstance(source, (list, tuple)):
        return [Path(p) for p in source]
    source = Path(source)
    if source.is_dir():
        paths = sorted(source.rglob("*.rdc"))
    elif source.is_file():
        lines = [line.strip() for line in source.read_text().splitlines()]
        paths = [source.parent / line for line in lines if line and not line.startswith("#")]
    else:
        raise RDCError(f"{source}: no such folder or list file")
    if not paths:
        raise RDCError(f"{source}: no .rdc streams")
    return paths


class RDCDataset(Dataset):
    """Each item: a stream decoded at `beta` with `layers` residual layers (None: all it has), as a float
    tensor (C, H, W) in [0, 1] (C = 1 for gray streams), passed through `transform` if given."""

    def __init__(self, source: str | Path | list, beta: float = 1.0, layers: int | None = None,
                 transform: Callable | None = None, weights: str | Path | None = None):
        if not 0 <= beta <= 1:
            raise ValueError("beta must lie in [0, 1]")
        self.paths = stream_paths(source)
        self.beta, self.layers, self.transform, self.weights = beta, layers, transform, weights
        self._codec, self._pid = None, None

    def __len__(self) -> int:
        return len(self.paths)

    def codec(self):
        """This process's codec (built on first use in each DataLoader worker)."""
        if self._pid != os.getpid():
            from .codec import Codec

            self._codec, self._pid = Codec(self.weights), os.getpid()
        return self._codec

    def __getitem__(self, index: int) -> torch.Tensor:
        path = self.paths[index]
        try:
            data = path.read_bytes()
        except OSError as e:
            raise RDCError(f"{path}: {e.strerror}") from None
        try:
            image = self.codec().decode(data, beta=self.beta, layers=self.layers).image
        except RDCError as e:
            raise RDCError(f"{path}: {e}") from None
        array = np.asarray(image)
        tensor = torch.from_numpy(array.reshape(*array.shape[:2], -1).copy()).permute(2, 0, 1).float() / 255
        return self.transform(tensor) if self.transform else tensor

    def __getstate__(self) -> dict:
        return self.__dict__ | {"_codec": None, "_pid": None}  # workers build their own
