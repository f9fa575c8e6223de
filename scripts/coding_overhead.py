"""Real primary bytes against the float model's likelihood bits, for weights files: what the coder's exact
arithmetic, tables and headers cost over the ideal (a checkerboard context's exact network included).

    python scripts/coding_overhead.py rdccodec/weights/default.pt runs/r29/weights.pt
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from rdccodec.codec import Codec
from rdccodec.nets.model import load_weights

IMAGES = ("kodim03", "kodim14", "kodim19", "kodim23")
RATES = (0.0, 2.5, 5.0)


def overhead(weights: str, data: str) -> float:
    model, _ = load_weights(weights)
    codec = Codec(weights, threads=1)
    estimated = real = 0.0
    for name in IMAGES:
        image = np.asarray(Image.open(f"{data}/{name}.png").convert("RGB"))
        x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].double() / 255
        for rate in RATES:
            with torch.no_grad():
                likelihoods = model.primary(x, torch.tensor([rate], dtype=torch.float64))["likelihoods"]
            estimated += float(sum(-torch.log2(v).sum() for v in likelihoods.values())) / 8
            real += codec.info(codec.encode(image, rate=rate, layers=0))["sections"][0]["bytes"]
    return real / estimated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="+")
    parser.add_argument("--data", default="../shared/data/kodak")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for weights in args.weights:
        print(f"{weights}: primary bytes / likelihood bytes = {overhead(weights, args.data):.4f}")


if __name__ == "__main__":
    main()
