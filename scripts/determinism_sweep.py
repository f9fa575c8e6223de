"""Cross-thread determinism sweep (issue 5): every Kodak image at every integer rate.

Encodes with 2 torch threads and decodes with 1 (and the reverse); pixels must be identical to the
encoder's own decode, and no latent checksum may fail. Writes results/determinism.json.
Usage: python scripts/determinism_sweep.py [KODAK_DIR]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from rdccodec.codec import Codec
from rdccodec.errors import RDCError


def main() -> None:
    kodak = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak")
    two, one = Codec(threads=2), Codec(threads=1)
    checked, mismatches, started = 0, [], time.time()
    for path in sorted(kodak.glob("*.png")):
        array = np.asarray(Image.open(path).convert("RGB"))
        for rate in range(two.levels):
            for encoder, decoder in ((two, one), (one, two)):
                data = encoder.encode(array, rate=rate)
                checked += 1
                try:
                    a = np.asarray(decoder.decode(data).image)
                    b = np.asarray(encoder.decode(data).image)
                except RDCError as e:
                    mismatches.append(f"{path.name} rate {rate}: {e}")
                    continue
                if not np.array_equal(a, b):
                    mismatches.append(f"{path.name} rate {rate}: {(a != b).sum()} samples differ")
    report = {"command": "python scripts/determinism_sweep.py", "pairs_checked": checked, "mismatches": mismatches,
              "seconds": round(time.time() - started, 1)}
    print(json.dumps(report, indent=1))
    (Path(__file__).resolve().parents[1] / "results" / "determinism.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
