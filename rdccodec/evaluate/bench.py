"""`make bench`: speed and memory of rdc beside CompressAI's reference model and Pillow's codecs.

A benchmark, not a test: it prints a table and writes results/bench.json.
"""
from __future__ import annotations

import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import baselines

KODAK_IMAGE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kodak" / "kodim01.png"


def median_seconds(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _child(case: str, image_path: str, rate: float) -> dict:
    """Encode + decode one image in a fresh process; its peak RSS is the number that counts."""
    script = (
        "import json,resource,time,numpy as np;from PIL import Image;from rdccodec.codec import Codec;"
        f"a=np.asarray(Image.open({image_path!r}).convert('RGB'));c=Codec();"
        f"t=time.perf_counter();d=c.encode(a,rate={rate});e=time.perf_counter()-t;"
        "t=time.perf_counter();o=c.decode(d).image;f=time.perf_counter()-t;"
        "print(json.dumps({'encode_s':e,'decode_s':f,'bytes':len(d),"
        "'peak_rss_mib':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if out.returncode != 0:
        return {"case": case, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return {"case": case, **json.loads(out.stdout.strip().splitlines()[-1])}


def run(out_path: str = "results/bench.json", large_side: tuple[int, int] = (4000, 3000)) -> dict:
    import torch

    torch.set_num_threads(2)
    from ..codec import Codec

    report: dict = {"threads": torch.get_num_threads()}
    rdc = str(Path(sys.executable).with_name("rdc"))
    report["help_seconds"] = median_seconds(lambda: subprocess.run([rdc, "--help"], capture_output=True))
    start = time.perf_counter()
    codec = Codec()
    report["model_load_seconds"] = time.perf_counter() - start
    image = np.asarray(Image.open(KODAK_IMAGE).convert("RGB"))
    megapixels = image.shape[0] * image.shape[1] / 1e6
    for rate in (0.0, float(codec.levels - 1)):
        data = codec.encode(image, rate=rate)
        enc = median_seconds(lambda: codec.encode(image, rate=rate))
        dec = median_seconds(lambda: codec.decode(data))
        report[f"rdc_768x512_rate{rate:g}"] = {
            "encode_s": enc, "decode_s": dec, "bytes": len(data),
            "encode_mp_per_s": megapixels / enc, "decode_mp_per_s": megapixels / dec}
    report["compressai_msh_128_192"] = _compressai_reference(image)
    top = report[f"rdc_768x512_rate{codec.levels - 1:g}"]
    ref = report["compressai_msh_128_192"]
    report["speedup_vs_compressai"] = {"encode": ref["encode_s"] / top["encode_s"],
                                       "decode": ref["decode_s"] / top["decode_s"]}
    for name, quality in (("jpeg", 75), ("webp", 75), ("avif", 50)):
        data = baselines.encode(image, name, quality)
        report[f"pillow_{name}_q{quality}"] = {
            "encode_s": median_seconds(lambda: baselines.encode(image, name, quality)),
            "decode_s": median_seconds(lambda: baselines.decode(data)), "bytes": len(data)}
    large = Path(out_path).with_name("bench_large.png")
    large.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).resize(large_side, Image.BICUBIC).save(large)
    report[f"rdc_{large_side[0]}x{large_side[1]}"] = _child("large", str(large), 3.0)
    report["rdc_768x512_process"] = _child("kodim01", str(KODAK_IMAGE), 3.0)
    large.unlink()
    report["peak_rss_mib_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_path).write_text(json.dumps(report, indent=1) + "\n")
    return report


def _compressai_reference(image: np.ndarray) -> dict:
    """CompressAI's MeanScaleHyperprior(128, 192), random weights (speed does not depend on them)."""
    import torch
    from compressai.models import MeanScaleHyperprior

    torch.manual_seed(0)
    model = MeanScaleHyperprior(128, 192).eval()
    model.update(force=True)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        out = model.compress(x)
        enc = median_seconds(lambda: model.compress(x))
        dec = median_seconds(lambda: model.decompress(out["strings"], out["shape"]))
    return {"encode_s": enc, "decode_s": dec}


def main() -> None:
    report = run()
    width = max(len(k) for k in report)
    for key, value in report.items():
        text = json.dumps(value) if isinstance(value, dict) else f"{value:.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {text}")


if __name__ == "__main__":
    main()
