"""Start a wider or larger network from a smaller one's checkpoint without changing what it computes."""
from __future__ import annotations

from torch import Tensor, nn


def _input_dim(module: nn.Module) -> int | None:
    """The weight dimension that indexes a layer's input channels (None: not a convolution)."""
    if isinstance(module, nn.ConvTranspose2d):
        return 0
    if isinstance(module, nn.Conv2d):
        return 1
    return None


def widen_state(model: nn.Module, narrow: dict[str, Tensor]) -> dict[str, Tensor]:
    """`model`'s state with every tensor of `narrow` in the leading corner of its own, larger one.

    The added channels keep `model`'s fresh initialisation on the way in and get zero weights on the way
    out (the added input slices of the next convolution), so the widened network computes exactly what the
    narrow one did, and training starts from there. A GDN's fresh γ has no cross terms, so the added
    channels do not disturb the normalisation of the old ones either. A part that `narrow` lacks (a
    checkerboard context) keeps its fresh initialisation, which computes nothing yet.
    """
    state = model.state_dict()
    modules = dict(model.named_modules())
    widened = {}
    for key, value in state.items():
        if key not in narrow:
            widened[key] = value
            continue
        old = narrow[key]
        if old.shape == value.shape:
            widened[key] = old
            continue
        if old.dim() != value.dim() or any(o > n for o, n in zip(old.shape, value.shape)):
            raise ValueError(f"{key}: {tuple(old.shape)} does not fit into {tuple(value.shape)}")
        new = value.clone()
        module_name, _, kind = key.rpartition(".")
        dim = _input_dim(modules[module_name]) if kind == "weight" else None
        if dim is not None:
            new.narrow(dim, old.shape[dim], new.shape[dim] - old.shape[dim]).zero_()
        new[tuple(slice(0, n) for n in old.shape)] = old
        widened[key] = new
    return widened
