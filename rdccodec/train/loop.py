"""The training loop shared by both stages: resumable checkpoints, CSV log, cosine schedule."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch import nn
from tqdm import tqdm

from ..errors import RDCError
from ..nets.model import ModelConfig, RDCModel
from . import distributed
from .data import CropSampler
from .widen import widen_state


@dataclasses.dataclass
class TrainSettings:
    stage: int
    data: list[str]
    out: str
    iterations: int
    batch: int = 8
    crop: int = 128
    lr: float = 3e-4
    seed: int = 0
    init: str | None = None  # stage II starts from stage I's checkpoint
    lambdas: tuple[float, float] | None = None  # λ of the lowest and highest level; None: the stage's own
    checkpoint_every: int = 200
    threads: int = 2
    device: str = "cpu"  # "cuda" trains on a GPU; checkpoints are device-independent
    accumulate: int = 1  # micro-batches of `batch` crops per update: the effective batch is batch × accumulate
    ema: float = 0.0  # decay of an exponential moving average of the weights kept beside them; 0: none
    spatial_cognition: str | None = None  # stage I: add a spatial term of this form (stage1.SPATIAL_TERMS)
    spatial_weight: float | None = None  # its weight in units of 255²·MSE; None: the form's (stage1.SPATIAL_TERMS)
    # The model's shape. None: as the checkpoint resumed or started from (--init) has it, else the default.
    residual_layers: tuple[int, ...] | None = None  # channels of each residual layer
    residual_synthesis_hidden: int | None = None
    hidden: int | None = None  # width of the primary's analysis and synthesis
    checkerboard: bool | None = None  # a checkerboard context on the primary latent

    def model_config(self) -> ModelConfig:
        return ModelConfig(**{option: getattr(self, option) for option in MODEL_OPTIONS})


MODEL_OPTIONS = {"residual_layers": (32, 32, 32), "residual_synthesis_hidden": 48, "hidden": 64,
                 "checkerboard": False}
"""The settings that shape the model, each with the value runs had before the option existed."""
AVERAGE = "average.pt"  # beside checkpoint.pt in a run folder trained with --ema
MAX_SKIPPED = 10  # consecutive non-finite iterations before training stops


def load_checkpoint(path) -> dict:
    """A checkpoint written by :func:`run`, or a weights file as one (training continues from shipped
    weights), or a one-line error naming the file."""
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")
    except FileNotFoundError:
        raise RDCError(f"{path}: no such checkpoint") from None
    except Exception as e:  # not a torch file, or damaged
        raise RDCError(f"{path}: not a training checkpoint ({type(e).__name__})") from None
    if isinstance(state, dict) and {"config", "state"} <= state.keys():
        return _weights_as_checkpoint(state)
    if not isinstance(state, dict) or "model" not in state:
        raise RDCError(f"{path}: not a training checkpoint")
    return state


def _weights_as_checkpoint(blob: dict) -> dict:
    """A weights file's networks with a training model's empty entropy tables (it rebuilds them when it
    exports), and the model shape as a checkpoint's settings record it."""
    config = ModelConfig.from_dict(blob["config"])
    fresh = RDCModel(config).state_dict()
    model = {k: v if v.shape == fresh[k].shape else fresh[k] for k, v in blob["state"].items()}
    return {"model": model, "settings": shape_settings(config)}


def shape_settings(config: ModelConfig) -> dict:
    """The model options of `config` as a checkpoint's settings record them (what ``--init`` reads)."""
    return {option: getattr(config, option) for option in MODEL_OPTIONS}


def checkpoint_config(state: dict) -> ModelConfig:
    """The model a checkpoint holds; runs from before an option trained that option's old value."""
    return ModelConfig(**{option: state["settings"].get(option, old) for option, old in MODEL_OPTIONS.items()})


def _settle_model_options(settings: TrainSettings, config: ModelConfig) -> TrainSettings:
    """`settings` with each model option it leaves open (None) taken from `config`."""
    return dataclasses.replace(settings, **{option: getattr(config, option) for option in MODEL_OPTIONS
                                            if getattr(settings, option) is None})


def _resumed_settings(settings: TrainSettings, state: dict, path) -> TrainSettings:
    """`settings` with the model shape the checkpoint was trained with, which any option given must match
    (a layer split has the same shapes, so loading would not notice)."""
    trained = checkpoint_config(state)
    if any(getattr(settings, option) not in (None, getattr(trained, option)) for option in MODEL_OPTIONS):
        raise RDCError(f"{path} was trained with {_shape(trained)}; resume it with the same options")
    return _settle_model_options(settings, trained)


def _shape(config: ModelConfig) -> str:
    return (f"residual layers {','.join(map(str, config.residual_layers))}, residual synthesis width "
            f"{config.residual_synthesis_hidden} and primary width {config.hidden}"
            + (" with a checkerboard context" if config.checkerboard else ""))


WIDTHS = ("hidden", "residual_synthesis_hidden")
"""The model options that --init may widen (:mod:`.widen`)."""


def _load_model(model: RDCModel, state: dict, path) -> None:
    """Load checkpoint `state` into `model`, widening a narrower primary or residual synthesis and adding
    a checkerboard context that it lacks (:mod:`.widen`)."""
    config, held = model.config, checkpoint_config(state)
    try:
        if any(getattr(held, w) < getattr(config, w) for w in WIDTHS) or config.checkerboard > held.checkerboard:
            grown = {w: getattr(held, w) for w in (*WIDTHS, "checkerboard")}
            narrow = RDCModel(dataclasses.replace(config, **grown))
            narrow.load_state_dict(state["model"])
            model.load_state_dict(widen_state(model, narrow.state_dict()))
        else:
            model.load_state_dict(state["model"])
    except (RuntimeError, ValueError):  # shapes: a wider network, or residual layers summing to another latent
        raise RDCError(f"{path}: its networks do not fit this model ({_shape(config)})") from None


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _truncate_log(log_path: Path, iteration: int) -> None:
    """Drop log rows past the checkpoint being resumed, so every iteration is logged once."""
    if not log_path.exists():
        return
    with open(log_path, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if int(r[0]) <= iteration]
    tmp = log_path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(kept)
    os.replace(tmp, log_path)


def _device(name: str) -> tuple[torch.device, str]:
    """The torch device and a description of the machine for the model card."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise RDCError(f"unknown device {name!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RDCError(f"device {name}: no CUDA GPU is available")
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest kernels
        return device, f"{platform.machine()}, {torch.cuda.get_device_name(device)}"
    return device, f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU"


class _Step(nn.Module):
    """A stage's step as a module, so that DistributedDataParallel can wrap it (it syncs in forward)."""

    def __init__(self, model: RDCModel, step: Callable):
        super().__init__()
        self.model, self.step = model, step

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> dict:
        return self.step(self.model, x, generator)


def _accumulate(step: nn.Module, sampler, settings, device, generator) -> tuple[dict, bool]:
    """Gradients of `settings.accumulate` micro-batches summed into the parameters (each loss divided by their
    number; ranks synchronise on the last); returns the loss terms averaged over them and whether every loss
    was finite on every rank."""
    total: dict = {}
    for i in range(settings.accumulate):
        last = i == settings.accumulate - 1
        with contextlib.nullcontext() if last or not hasattr(step, "no_sync") else step.no_sync():
            terms = step(sampler.sample(settings.batch).to(device), generator)
            if not distributed.all_finite(terms["loss"]):
                return {k: v.item() for k, v in terms.items()}, False
            (terms["loss"] / settings.accumulate).backward()
        for k, v in terms.items():
            total[k] = total.get(k, 0.0) + v.item() / settings.accumulate
    return total, True


def _rng_states(sampler: CropSampler, generator: torch.Generator) -> list:
    """Every rank's random states, in rank order (a checkpoint resumes each rank where it was)."""
    return distributed.gather((sampler.generator.get_state(), generator.get_state()))


def run(settings: TrainSettings, build_step: Callable, resume: bool) -> Path:
    """Train until `settings.iterations`; returns the checkpoint path.

    `build_step(model, settings)` returns (parameters to train, step function, extra modules
    whose state is checkpointed); `step(model, batch, generator)` returns a dict of
    scalar loss terms with the total under "loss". Launched by torchrun, every rank trains on its own
    shard of the photos (:mod:`.distributed`).
    """
    torch.set_num_threads(settings.threads)
    rank, world, device_name = distributed.start(settings.device)
    try:
        return _run(settings, build_step, resume, rank, world, device_name)
    finally:
        distributed.stop()


def _run(settings, build_step, resume, rank, world, device_name) -> Path:
    device, machine = _device(device_name)
    if world > 1:
        machine += f", {world} processes (torchrun)"
    torch.manual_seed(settings.seed)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.pt"
    state = load_checkpoint(checkpoint_path) if resume and checkpoint_path.exists() else None
    init = load_checkpoint(settings.init) if settings.init and state is None else None
    if state is not None:
        settings = _resumed_settings(settings, state, checkpoint_path)
    else:
        settings = _settle_model_options(settings, checkpoint_config(init) if init else ModelConfig())
    model = RDCModel(settings.model_config())
    if init is not None:
        _load_model(model, init, settings.init)
    parameters, step, extra = build_step(model, settings)
    model.to(device)
    extra.to(device)
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(settings.ema), use_buffers=True) \
        if settings.ema else None
    main_params = [p for n, p in parameters if not n.endswith("quantiles")]
    aux_params = [p for n, p in parameters if n.endswith("quantiles")]
    optimizer = torch.optim.Adam(main_params, lr=settings.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)
    sampler = CropSampler(settings.data, settings.crop, settings.seed + rank, shard=(rank, world))
    generator = torch.Generator().manual_seed(settings.seed + 1 + rank)
    start, seconds = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        aux_optimizer.load_state_dict(state["aux_optimizer"])
        extra.load_state_dict(state["extra"])
        if average is not None:
            if "ema" not in state:
                raise RDCError(f"{checkpoint_path} kept no weight average; resume it without --ema")
            average.load_state_dict(state["ema"])
        states = state.get("rng_states") or [(state["sampler_rng"], state["rng"])]
        if rank < len(states):  # a rank the checkpoint did not have starts from its own seeds
            sampler.generator.set_state(states[rank][0])
            generator.set_state(states[rank][1])
        start, seconds = state["iteration"], state["seconds"]
    quantiles = [f"model.{n}" for n, p in model.named_parameters() if n.endswith("quantiles")]
    stepper = distributed.wrap(_Step(model, step), quantiles)
    writer = log_file = None
    if rank == 0:
        (out / "settings.json").write_text(json.dumps(dataclasses.asdict(settings), indent=1))
        log_path = out / "log.csv"
        _truncate_log(log_path, start)
        log_file = open(log_path, "a", newline="")
    bar = tqdm(range(start, settings.iterations), initial=start, total=settings.iterations,
               desc=f"stage {settings.stage}", mininterval=5, disable=rank > 0)
    t0 = time.time() - seconds
    skipped = 0
    for it in bar:
        for group in optimizer.param_groups:  # cosine decay to 5% of the initial rate
            group["lr"] = settings.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * it / settings.iterations)))
        optimizer.zero_grad()
        terms, finite = _accumulate(stepper, sampler, settings, device, generator)
        if finite:
            finite = torch.isfinite(torch.nn.utils.clip_grad_norm_(main_params, 1.0))
        if finite:
            optimizer.step()
            if average is not None:
                average.update_parameters(model)
            skipped = 0
        else:  # one bad batch must not turn every weight into NaN
            skipped += 1
            if skipped == MAX_SKIPPED:
                raise RDCError(f"training diverged: the last {skipped} iterations (to {it + 1}) had a "
                               f"non-finite loss or gradient; {checkpoint_path} holds the last good state")
            bar.write(f"iteration {it + 1}: non-finite loss or gradient, update skipped")
        aux = model.aux_loss()
        aux_optimizer.zero_grad()
        aux.backward()
        distributed.average_grads(aux_params)
        aux_optimizer.step()
        terms = distributed.average_terms({"aux": aux.item(), **terms})
        row = {"iteration": it + 1, "seconds": round(time.time() - t0, 1), **terms}
        bar.set_postfix(loss=f"{row['loss']:.3f}", bpp=f"{row.get('bpp', 0):.3f}", refresh=False)
        if rank == 0:
            if writer is None:
                writer = csv.DictWriter(log_file, fieldnames=list(row))
                if log_path.stat().st_size == 0:
                    writer.writeheader()
            writer.writerow(row)
        if (it + 1) % settings.checkpoint_every == 0 or it + 1 == settings.iterations:
            rng_states = _rng_states(sampler, generator)  # every rank takes part
            if rank > 0:
                continue
            log_file.flush()
            _atomic_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(), "extra": extra.state_dict(),
                "sampler_rng": rng_states[0][0], "rng": rng_states[0][1], "rng_states": rng_states,
                "iteration": it + 1, "seconds": time.time() - t0, "machine": machine,
                "settings": dataclasses.asdict(settings) | {"processes": world},
            } | ({"ema": average.state_dict()} if average is not None else {}), checkpoint_path)
            if average is not None:  # the averaged networks alone: an --init, or what export --average ships
                _atomic_save({"model": average.module.state_dict(), "settings": dataclasses.asdict(settings),
                              "iteration": it + 1}, out / AVERAGE)
    if log_file is not None:
        log_file.close()
    return checkpoint_path
