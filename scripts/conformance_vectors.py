"""Write the conformance streams (tests/vectors/): .rdc files made with the shipped weights, and the SHA-256 of
the pixels each must decode to, so that every other machine (CPU, instruction set, thread count) checks that
it decodes them to exactly those pixels (tests/test_conformance.py).

Only decoding is normative: an encoder on another machine may make other streams (bfloat16 analyses where
the CPU has them), so re-run this only when the shipped weights change — the streams name their weights.
Usage: python scripts/conformance_vectors.py [KODAK_DIR]
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from rdccodec.codec import Codec

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "vectors"
# name, Kodak image, crop (rows, columns), PIL mode, rate, residual layers stored, encoder's band height
STREAMS = [
    ("odd-rgb-rate0", "kodim01.png", (slice(100, 197), slice(200, 331)), "RGB", 0.0, 3, None),
    ("fractional-rate", "kodim23.png", (slice(150, 246), slice(300, 460)), "RGB", 2.5, 3, None),
    ("gray-two-layers", "kodim05.png", (slice(0, 80), slice(0, 64)), "L", 5.0, 2, None),
    ("bands", "kodim19.png", (slice(200, 400), slice(100, 250)), "RGB", 1.0, 1, 64),
]


def pixels_sha256(image: Image.Image) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(image)).tobytes()).hexdigest()


def decodes(layers: int) -> list[tuple[float, int]]:
    """(β, layers) pairs checked per stream: x̂1 alone (β = 1), and every layer prefix at β = 0 and 0.5."""
    return [(1.0, layers)] + [(beta, k) for k in range(1, layers + 1) for beta in (0.0, 0.5)]


def main() -> None:
    kodak = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".." / "shared" / "data" / "kodak"
    decoder = Codec()
    OUT.mkdir(parents=True, exist_ok=True)
    streams = []
    for name, source, (rows, cols), mode, rate, layers, band in STREAMS:
        with Image.open(kodak / source) as im:
            image = Image.fromarray(np.asarray(im.convert("RGB"))[rows, cols]).convert(mode)
        encoder = Codec() if band is None else Codec(band=band)
        data = encoder.encode(image, rate=rate, layers=layers)
        (OUT / f"{name}.rdc").write_bytes(data)
        checks = []
        for beta, k in decodes(layers):
            out = decoder.decode(data, beta=beta, layers=k).image
            checks.append({"beta": beta, "layers": k, "mode": out.mode, "size": list(out.size),
                           "pixels_sha256": pixels_sha256(out)})
        streams.append({"file": f"{name}.rdc", "source": f"{source}[{rows.start}:{rows.stop}, {cols.start}:{cols.stop}]"
                        f" as {mode}", "rate": rate, "layers": layers, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(), "decodes": checks})
    manifest = {
        "command": "python scripts/conformance_vectors.py",
        "weights_sha256": decoder.sha256,
        "made_on": {"machine": platform.machine(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "torch": torch.__version__, "encoder": f"{decoder.analysis_precision} analyses"},
        "streams": streams,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(streams)} streams, {sum(s['bytes'] for s in streams)} bytes, "
          f"{sum(len(s['decodes']) for s in streams)} decodes -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
