"""Peak memory and seconds of `rdc encode` / `rdc decode` on large photos, and PSNR at tile borders.

The test photos are mosaics of the Kodak images (offset so that mosaic edges miss tile borders); each
command runs as its own process and its peak RSS comes from wait4(). Writes results/large.json, keeping
the rows of sizes not run this time.

    python scripts/large_images.py [--sizes 768x512,4000x3000,10000x10000] [--rate 5]
    python scripts/large_images.py --seams
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from rdccodec.codec import SYNTHESIS_MARGIN, TILE
from rdccodec.evaluate.bench import cli_round_trip, mosaic

ROOT = Path(__file__).resolve().parents[1]


def border_psnr(original: np.ndarray, decoded: np.ndarray, width: int = 8) -> dict:
    """PSNR of the pixels within `width` of a tile border against all others."""
    error = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
    near = np.zeros(original.shape[:2], bool)
    for edge in range(TILE, original.shape[0], TILE):
        near[edge - width:edge + width] = True
    for edge in range(TILE, original.shape[1], TILE):
        near[:, edge - width:edge + width] = True

    def psnr(mask):
        return float(10 * np.log10(255 ** 2 / error[mask].mean()))

    return {"border_px": width, "psnr_near_tile_borders": psnr(near), "psnr_elsewhere": psnr(~near)}


def seam_check(width: int = 1536, height: int = 1024, rate: float = 5.0) -> dict:
    """The same photo coded in 512-px tiles and whole (tile larger than the image): PSNR of both on the
    strips around the 512-px tile borders. The decoder's tiling is exact (tested); this measures the
    encoder's."""
    from rdccodec.codec import Codec

    original = mosaic(width, height)
    result = {"size": f"{width}x{height}", "rate": rate}
    for name, codec in (("tiled", Codec()), ("whole", Codec(tile=4096))):
        data = codec.encode(original, rate=rate)
        decoded = np.asarray(codec.decode(data).image)
        result[name] = {"bytes": len(data), **border_psnr(original, decoded)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="768x512,4000x3000,10000x10000")
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "large.json")
    parser.add_argument("--seams", action="store_true", help="only run the seam check (tiled against whole)")
    args = parser.parse_args()
    if args.seams:
        report = json.loads(args.output.read_text()) if args.output.exists() else {"rows": []}
        report["seams"] = seam_check()
        print(json.dumps(report["seams"], indent=1))
        args.output.write_text(json.dumps(report, indent=1) + "\n")
        return
    rows = []
    for size in args.sizes.split(","):
        width, height = map(int, size.split("x"))
        original = mosaic(width, height)
        with tempfile.TemporaryDirectory() as folder:
            row = {"size": size, **cli_round_trip(original, Path(folder), args.rate)}
            decoded = np.asarray(Image.open(row.pop("decoded")).convert("RGB"))
        row["psnr"] = float(10 * np.log10(255 ** 2 / np.mean((original.astype(float) - decoded) ** 2)))
        padded = (-(-height // 64) * 64, -(-width // 64) * 64)
        if padded[0] * padded[1] > (TILE + 2 * 16 * SYNTHESIS_MARGIN) ** 2:  # tiled; smaller images run whole
            row.update(border_psnr(original, decoded))
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.output.exists():  # keep the rows of sizes not run this time
        rows += [r for r in json.loads(args.output.read_text())["rows"] if r["size"] not in args.sizes.split(",")]
    rows.sort(key=lambda r: r["megapixels"])
    report = json.loads(args.output.read_text()) if args.output.exists() else {}
    report.update(command="python scripts/large_images.py", tile=TILE, threads="torch default (2)", rows=rows)
    args.output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
