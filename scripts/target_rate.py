"""Accuracy and cost of `--bpp` targets over Kodak (issue 6): for every image and target, the reached
bpp, the chosen rate and layer count, and the seconds the search took. Writes results/target_rate.json.

    python scripts/target_rate.py [--targets 0.1,0.25,0.5,1.0] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from PIL import Image

from rdccodec.codec import Codec
from rdccodec.errors import RDCError

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data" / "kodak")
    parser.add_argument("--targets", default="0.1,0.25,0.5,1.0")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "target_rate.json")
    args = parser.parse_args()
    codec = Codec(threads=args.threads)
    targets = [float(t) for t in args.targets.split(",")]
    rows = []
    for path in sorted(args.data.glob("*.png")):
        with Image.open(path) as im:
            pixels = im.width * im.height
        for target in targets:
            start = time.perf_counter()
            row = {"image": path.name, "target_bpp": target}
            try:
                fitted = codec.encode_to_size(path, max_bpp=target)
                bpp = 8 * len(fitted.data) / pixels
                row.update(bpp=bpp, error=bpp / target - 1, rate=fitted.rate, layers=fitted.layers,
                           above_range=fitted.reached_top)
            except RDCError as e:
                row.update(below_range=str(e))
            row["seconds"] = time.perf_counter() - start
            print(json.dumps(row), flush=True)
            rows.append(row)
    summary = {}
    for target in targets:
        mine = [r for r in rows if r["target_bpp"] == target]
        inside = [r for r in mine if "bpp" in r and not r["above_range"]]
        summary[str(target)] = {
            "images": len(mine), "inside_range": len(inside),
            "below_range": sum("below_range" in r for r in mine),
            "above_range": sum(r.get("above_range", False) for r in mine),
            "within_3_percent": sum(-0.03 <= r["error"] <= 0 for r in inside),
            "mean_error": statistics.mean(r["error"] for r in inside) if inside else None,
            "worst_error": min((r["error"] for r in inside), default=None),
            "mean_seconds": statistics.mean(r["seconds"] for r in mine),
        }
    report = {"command": "python scripts/target_rate.py --targets " + args.targets + f" --threads {args.threads}",
              "threads": args.threads, "summary": summary, "rows": rows}
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
