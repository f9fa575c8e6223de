"""Judge a training round without coding files: Kodak bits from the likelihoods, PSNR of x̂1 (β=1) and of
x̂1 + r with every layer (β=0) at each rate level, and the BD-rate of each candidate against a reference.

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
    parser.add_argument("-o", "--output", help="Also write the curves and BD-rates here (JSON).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photos = [load_photo(p)[None].float() / 255 for p in find_images([args.data])]
    report = {}
    for path in [args.reference, *args.candidates]:
        start = time.time()
        report[path] = curves(load(path), photos)
        report[path]["seconds"] = round(time.time() - start, 1)
    ref = report[args.reference]
    for path in args.candidates:
        c = report[path]
        c["bd_rate_vs_reference"] = {
            beta: round(bd_rate(c[beta]["bpp"], c[beta]["psnr"], ref[beta]["bpp"], ref[beta]["psnr"]), 2)
            for beta in ("beta1", "beta0")}
        print(f"{path}: BD-rate β=1 {c['bd_rate_vs_reference']['beta1']:+.2f} %, "
              f"β=0 all layers {c['bd_rate_vs_reference']['beta0']:+.2f} % against {args.reference}")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"reference": args.reference, "data": args.data,
                                                 "images": len(photos), "curves": report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
