"""Distortion metrics on 8-bit RGB arrays."""
from __future__ import annotations

import numpy as np
import torch


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    mse = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float | None:
    """MS-SSIM (pytorch-msssim); None for images under 161 px, too small for its five scales."""
    from pytorch_msssim import ms_ssim as _ms_ssim

    if min(reference.shape[:2]) < 161:
        return None
    a, b = (torch.from_numpy(np.array(x)).permute(2, 0, 1)[None].float() for x in (reference, decoded))
    return float(_ms_ssim(a, b, data_range=255))
