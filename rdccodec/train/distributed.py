"""Training on several processes with torch.distributed, as launched by torchrun.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them training runs in one process and every helper
here is a no-op. Each rank samples its own shard of the photos; DistributedDataParallel averages the
gradients, so the ranks' weights stay identical and rank 0 alone writes the checkpoint and the log.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def launched() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str) -> tuple[int, int, str]:
    """Join the process group if torchrun launched us; returns (rank, world size, this rank's device)."""
    if not launched():
        return 0, 1, device
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(step_module: nn.Module, ignored: list[str]) -> nn.Module:
    """`step_module` under DistributedDataParallel when launched; `ignored` parameters (the entropy
    bottlenecks' quantiles, trained by their own loss outside the step) are left to :func:`average_grads`."""
    if not launched():
        return step_module
    nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(step_module, ignored)
    return nn.parallel.DistributedDataParallel(step_module, forward_sync_buffers=False)


def all_finite(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on every rank: all skip an update together, or none does."""
    flag = torch.isfinite(loss.detach()).to(torch.int32).reshape(1)
    if launched():
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def average_grads(parameters: list[torch.Tensor]) -> None:
    """Average the gradients of parameters that DistributedDataParallel does not see."""
    if launched():
        for p in parameters:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()


def average_terms(terms: dict[str, float]) -> dict[str, float]:
    """The loss terms averaged over the ranks, for the log."""
    if not launched():
        return terms
    values = torch.tensor(list(terms.values()), dtype=torch.float64)
    dist.all_reduce(values)
    return dict(zip(terms, (values / dist.get_world_size()).tolist()))


def gather(obj) -> list:
    """`obj` of every rank, in rank order (every rank receives the list)."""
    if not launched():
        return [obj]
    objects = [None] * dist.get_world_size()
    dist.all_gather_object(objects, obj)
    return objects
