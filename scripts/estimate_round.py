"""Judge a training round without coding files: Kodak bits from the likelihoods, PSNR of x̂1 (β=1) and of
x̂1 + r with every layer (β=0) at each rate level, and the BD-rate of each candidate against a reference.
With --imagenet N, also β=1 on N ImageNet samples (256×256 centre crops, as `rdc eval` prepares them):
EfficientNet-Lite2's top-1 and its dense feature fidelity at strides 8/16/32 (`rdc eval --task features`).

    python scripts/estimate_round.py runs/r27-control/stage1/checkpoint.pt runs/r27-control/stage1/average.pt \
        --reference rdccodec/weights/default.pt -o results/rounds/r27.json

A candidate is a checkpoint, an average.pt or a weights file. Likelihood bits run about 1 % under real files
(headers, tails), the same for every candidate, so BD-rates between candidates hold; `rdc eval` measures what
ships.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from rdccodec.evaluate.bd import bd_rate
from rdccodec.nets.model import RDCModel
from rdccodec.train.data import find_images, load_photo
from rdccodec.train.loop import checkpoint_config, load_checkpoint
from rdccodec.train.losses import bits_per_pixel


def load(path: str) -> RDCModel:
    state = load_checkpoint(path)
    model = RDCModel(checkpoint_config(state))
    model.load_state_dict(state["model"])
    return model.eval()


@torch.no_grad()
def imagenet_curves(model: RDCModel, paths: list[Path]) -> dict:
    """Mean bpp, top-1 and dense fidelity (strides 8/16/32) of x̂1 at each level over `paths`."""
    from rdccodec.evaluate.classify import Classifier, imagenet_labels
    from rdccodec.evaluate.features import METRICS, DenseFidelity
    from rdccodec.evaluate.run import prepare

    labels = imagenet_labels(sorted(Path(paths[0]).parent.iterdir()))
    judge, fidelity = Classifier(2), DenseFidelity(2)
    levels = model.config.levels
    sums = np.zeros((levels, 2 + len(METRICS)))
    for path in tqdm(paths, desc="imagenet", leave=False):
        original = prepare(path, "features")
        maps = fidelity.maps(original)
        x = torch.from_numpy(original.copy()).permute(2, 0, 1)[None].float() / 255
        for level in range(levels):
            out = model.primary(x, torch.tensor([float(level)]))
            decoded = (out["x_hat"].clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            similarity = fidelity.similarity(maps, decoded)
            sums[level] += (bits_per_pixel(out["likelihoods"], 256 * 256).item(),
                            float(judge.topk(decoded, labels[path])[0]), *(similarity[m] for m in METRICS))
    mean = sums / len(paths)
    return {"bpp": mean[:, 0].tolist(), "top1": mean[:, 1].tolist(),
            **{m: mean[:, 2 + i].tolist() for i, m in enumerate(METRICS)}}


@torch.no_grad()
def curves(model: RDCModel, photos: list[torch.Tensor]) -> dict:
    """Mean bpp and PSNR over `photos` at each level: β=1 (x̂1 alone) and β=0 with every layer."""
    levels, layers = model.config.levels, model.config.layers
    sums = np.zeros((levels, 4))  # bpp1, psnr1, bpp0, psnr0
    for x in tqdm(photos, desc="estimate", leave=False):
        h, w = x.shape[2:]
        padded = F.pad(x, (0, -w % 64, 0, -h % 64), mode="replicate")
        for level in range(levels):
            lv = torch.tensor([float(level)])
            out = model.primary(padded, lv)
            x_hat = out["x_hat"].clamp(0, 1)
            bits1 = bits_per_pixel(out["likelihoods"], h * w).item()
            res = model.residual(padded - x_hat, x_hat, lv, torch.tensor([layers]))
            bits0 = bits1 + bits_per_pixel(res["likelihoods"], h * w).item()
            x0 = (x_hat + res["r_hat"]).clamp(0, 1)
            mse1 = F.mse_loss(x_hat[..., :h, :w], x).item()
            mse0 = F.mse_loss(x0[..., :h, :w], x).item()
            sums[level] += (bits1, -10 * np.log10(mse1), bits0, -10 * np.log10(mse0))
    mean = sums / len(photos)
    return {"beta1": {"bpp": mean[:, 0].tolist(), "psnr": mean[:, 1].tolist()},
            "beta0": {"bpp": mean[:, 2].tolist(), "psnr": mean[:, 3].tolist()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", nargs="+")
    parser.add_argument("--reference", default="rdccodec/weights/default.pt")
    parser.add_argument("--data", default="../shared/data/kodak")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--imagenet", type=int, default=0, metavar="N",
                        help="Also judge β=1 on N of ../shared/data/imagenet-samples (evenly spaced).")
    parser.add_argument("-o", "--output", help="Also write the curves and BD-rates here (JSON).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photos = [load_photo(p)[None].float() / 255 for p in find_images([args.data])]
    samples = sorted(Path("../shared/data/imagenet-samples").glob("*"))
    samples = samples[::max(1, len(samples) // args.imagenet)][:args.imagenet] if args.imagenet else []
    report = {}
    for path in [args.reference, *args.candidates]:
        start = time.time()
        model = load(path)
        report[path] = curves(model, photos)
        if samples:
            report[path]["imagenet_beta1"] = imagenet_curves(model, samples)
        report[path]["seconds"] = round(time.time() - start, 1)
    ref = report[args.reference]
    for path in args.candidates:
        c = report[path]
        bd = c["bd_rate_vs_reference"] = {
            beta: round(bd_rate(c[beta]["bpp"], c[beta]["psnr"], ref[beta]["bpp"], ref[beta]["psnr"]), 2)
            for beta in ("beta1", "beta0")}
        if samples:
            mine, theirs = c["imagenet_beta1"], ref["imagenet_beta1"]
            for metric in [m for m in mine if m != "bpp"]:
                value = bd_rate(mine["bpp"], mine[metric], theirs["bpp"], theirs[metric])
                bd[f"imagenet_beta1_{metric}"] = None if value is None else round(value, 2)
        print(f"{path}: BD-rate against {args.reference}: " + ", ".join(
            f"{k} {'n/a' if v is None else f'{v:+.2f} %'}" for k, v in bd.items()))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"reference": args.reference, "data": args.data,
                                                 "images": len(photos), "curves": report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
