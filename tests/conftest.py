"""Fixtures: a small random-initialised model (fast) and the shipped one (end to end)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rdccodec.codec import Codec
from rdccodec.nets.exact import calibrate
from rdccodec.nets.model import ModelConfig, RDCModel, save_weights

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
KODAK = SHARED / "kodak"
SMALL = ModelConfig(hidden=16, latent=32, hyper=16, residual_hidden=16, residual_synthesis_hidden=16,
                    residual_hyper=16, residual_layers=(4, 8, 12))


def make_weights(path: Path, seed: int, config: ModelConfig = SMALL) -> Path:
    """A random model; one with a checkerboard context gets a live one (its last layer starts at zero)."""
    torch.manual_seed(seed)
    model = RDCModel(config)
    if config.checkerboard:
        torch.nn.init.normal_(model.primary.hyperprior.context.net[-1].weight, std=0.05)
    model.update_tables()
    model.eval()
    model.ranges = calibrate(model, [torch.rand(1, 3, 64, 64)])
    save_weights(model, path)
    return path


@pytest.fixture(scope="session")
def small_weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights") / "small.pt", seed=0)


@pytest.fixture(scope="session")
def other_weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights") / "other.pt", seed=1)


@pytest.fixture(scope="session")
def checkerboard_weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights") / "checkerboard.pt", seed=2,
                        config=dataclasses.replace(SMALL, checkerboard=True))


@pytest.fixture(scope="session")
def small_codec(small_weights) -> Codec:
    return Codec(small_weights)


@pytest.fixture(scope="session")
def checkerboard_codec(checkerboard_weights) -> Codec:
    return Codec(checkerboard_weights)


@pytest.fixture(scope="session")
def shipped_codec() -> Codec:
    return Codec()


@pytest.fixture(scope="session")
def kodak_crop() -> np.ndarray:
    """An odd-sized crop of kodim01 (needs padding on both axes)."""
    with Image.open(KODAK / "kodim01.png") as im:
        return np.asarray(im.convert("RGB"))[100:197, 200:331].copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))
