"""Peak memory and seconds of `rdc encode` / `rdc decode` on large photos, and PSNR at tile borders.

The large test images are mosaics of the Kodak photos (offset so that mosaic
edges do not fall on tile borders). Each command runs as its own process; its
peak RSS comes from wait4(). Writes results/large.json.

    python scripts/large_images.py [--sizes 768x512,4000x3000,10000x10000] [--rate 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT / ".." / "shared" / "data" / "kodak"


def mosaic(width: int, height: int) -> np.ndarray:
    photos = [np.asarray(Image.open(p).convert("RGB").resize((768, 512))) for p in sorted(KODAK.glob("*.png"))]
    out = np.empty((height, width, 3), np.uint8)
    for i, top in enumerate(range(-300, height, 512)):
        for j, left in enumerate(range(-300, width, 768)):
            photo = photos[(i * 7 + j) % len(photos)]
            t, l = max(top, 0), max(left, 0)
            b, r = min(top + 512, height), min(left + 768, width)
            out[t:b, l:r] = photo[t - top:b - top, l - left:r - left]
    return out


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def border_psnr(original: np.ndarray, decoded: np.ndarray, tile: int, width: int = 8) -> dict:
    error = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
    near = np.zeros(original.shape[:2], bool)
    for edge in range(tile, original.shape[0], tile):
        near[edge - width:edge + width] = True
    for edge in range(tile, original.shape[1], tile):
        near[:, edge - width:edge + width] = True

    def psnr(mask):
        return float(10 * np.log10(255 ** 2 / error[mask].mean()))

    return {"border_px": width, "psnr_near_tile_borders": psnr(near), "psnr_elsewhere": psnr(~near),
            "psnr_all": psnr(np.ones_like(near))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="768x512,4000x3000,10000x10000")
    parser.add_argument("--rate", default="5")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "large.json")
    args = parser.parse_args()
    from rdccodec.codec import TILE

    rdc = [sys.executable, "-m", "rdccodec"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = map(int, size.split("x"))
            source = Path(tmp) / f"{size}.png"
            original = mosaic(width, height)
            Image.fromarray(original).save(source, compress_level=1)
            limit = ["--max-pixels", str(max(width * height, 40_000_000))]
            enc_s, enc_mib = run(rdc + ["encode", str(source), "--rate", args.rate, "-o", f"{source}.rdc", *limit])
            dec_s, dec_mib = run(rdc + ["decode", f"{source}.rdc", "-o", f"{source}.out.png", *limit])
            megapixels = width * height / 1e6
            row = {"size": size, "megapixels": megapixels, "rate": float(args.rate), "layers": "all",
                   "bytes": os.path.getsize(f"{source}.rdc"),
                   "encode_s": enc_s, "decode_s": dec_s, "encode_peak_rss_mib": enc_mib, "decode_peak_rss_mib": dec_mib,
                   "encode_s_per_mp": enc_s / megapixels, "decode_s_per_mp": dec_s / megapixels}
            row.update(border_psnr(original, np.asarray(Image.open(f"{source}.out.png").convert("RGB")), TILE))
            print(json.dumps(row), flush=True)
            rows.append(row)
            for f in Path(tmp).iterdir():
                f.unlink()
    args.output.write_text(json.dumps({"tile": TILE, "threads": "torch default", "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
