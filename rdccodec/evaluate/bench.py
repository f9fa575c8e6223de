"""`make bench`: speed and memory of rdc beside CompressAI's reference model and Pillow's codecs.

A benchmark, not a test: it prints a table and writes results/bench.json. In-process timings (through
the Python API) are medians of 5 with 2 torch threads; the command-line round trips (`rdc encode`,
`rdc decode`, each its own process, start-up included) give peak resident memory.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
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


def mosaic(width: int, height: int) -> np.ndarray:
    """A large test photo: the Kodak images tiled, offset so that their edges miss rdc's tile borders."""
    photos = [np.asarray(Image.open(p).convert("RGB").resize((768, 512))) for p in sorted(KODAK_IMAGE.parent.glob("*.png"))]
    out = np.empty((height, width, 3), np.uint8)
    for i, top in enumerate(range(-300, height, 512)):
        for j, left in enumerate(range(-300, width, 768)):
            photo = photos[(i * 7 + j) % len(photos)]
            t, l, b, r = max(top, 0), max(left, 0), min(top + 512, height), min(left + 768, width)
            out[t:b, l:r] = photo[t - top:b - top, l - left:r - left]
    return out


_LAUNCHER = (
    "import json,os,subprocess,sys;p=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
    "e=p.stderr.read();_,s,u=os.wait4(p.pid,0);print(json.dumps([s,u.ru_maxrss,e.decode(errors='replace')]))"
)


def run_command(command: list[str]) -> dict:
    """Wall seconds and peak RSS (MiB) of one `rdc` process, as a user's shell runs it.

    A forked child's peak RSS starts at its parent's resident size, so the command is started by a small
    launcher process, not by this one (which holds torch, the model and the test images)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    status, peak_kib, errors = json.loads(out.stdout)
    if status:
        raise RuntimeError(f"{' '.join(command)} failed: {errors.strip()}")
    return {"seconds": seconds, "peak_rss_mib": peak_kib / 1024}


def cli_round_trip(image: np.ndarray, folder: Path, rate: float) -> dict:
    """`rdc encode` then `rdc decode` of one image, each its own process, all layers."""
    rdc = str(Path(sys.executable).with_name("rdc"))
    source = folder / "bench.png"
    Image.fromarray(image).save(source, compress_level=1)
    limit = ["--max-pixels", str(max(image.shape[0] * image.shape[1], 40_000_000)), "--force"]
    encode = run_command([rdc, "encode", str(source), "--rate", str(rate), "-o", f"{source}.rdc", *limit])
    decode = run_command([rdc, "decode", f"{source}.rdc", "-o", f"{source}.out.png", *limit])
    megapixels = image.shape[0] * image.shape[1] / 1e6
    return {"megapixels": megapixels, "rate": rate, "bytes": (folder / "bench.png.rdc").stat().st_size,
            "encode_s": encode["seconds"], "decode_s": decode["seconds"],
            "encode_peak_rss_mib": encode["peak_rss_mib"], "decode_peak_rss_mib": decode["peak_rss_mib"],
            "encode_s_per_mp": encode["seconds"] / megapixels, "decode_s_per_mp": decode["seconds"] / megapixels,
            "decoded": str(folder / "bench.png.out.png")}


def run(out_path: str = "results/bench.json", large_side: tuple[int, int] = (4000, 3000)) -> dict:
    import torch

    torch.set_num_threads(2)
    from ..allocator import reuse_freed_memory
    from ..codec import Codec

    reuse_freed_memory()  # as in the `rdc` command
    report: dict = {"threads": torch.get_num_threads()}
    rdc = str(Path(sys.executable).with_name("rdc"))
    report["help_seconds"] = median_seconds(lambda: subprocess.run([rdc, "--help"], capture_output=True))
    start = time.perf_counter()
    codec = Codec()
    report["model_load_seconds"] = time.perf_counter() - start
    image = np.asarray(Image.open(KODAK_IMAGE).convert("RGB"))
    large = mosaic(*large_side)
    top_rate = float(codec.levels - 1)
    for name, array, rate in (("768x512_rate0", image, 0.0), (f"768x512_rate{top_rate:g}", image, top_rate),
                              (f"{large_side[0]}x{large_side[1]}_rate{top_rate:g}", large, top_rate)):
        megapixels = array.shape[0] * array.shape[1] / 1e6
        data = codec.encode(array, rate=rate)
        enc = median_seconds(lambda: codec.encode(array, rate=rate))
        dec = median_seconds(lambda: codec.decode(data))
        report[f"rdc_{name}"] = {
            "encode_s": enc, "decode_s": dec, "bytes": len(data),
            "encode_mp_per_s": megapixels / enc, "decode_mp_per_s": megapixels / dec}
    report["rdc_768x512_effort"] = effort_seconds(codec, image)
    # CompressAI as its users run it (a fresh process), and in this process, with rdc's allocator
    # setting, which speeds the reference up as well
    stock = subprocess.run([sys.executable, "-c", "import json, rdccodec.evaluate.bench as b; "
                            "print(json.dumps(b.compressai_reference()))"], capture_output=True, text=True, check=True)
    report["compressai_msh_128_192"] = json.loads(stock.stdout)
    report["compressai_msh_128_192_rdc_allocator"] = compressai_reference()
    at_top = report[f"rdc_768x512_rate{top_rate:g}"]
    for suffix in ("", "_rdc_allocator"):
        ref = report[f"compressai_msh_128_192{suffix}"]
        report[f"speedup_vs_compressai{suffix}"] = {"encode": ref["encode_s"] / at_top["encode_s"],
                                                    "decode": ref["decode_s"] / at_top["decode_s"]}
    for name, quality in (("jpeg", 75), ("webp", 75), ("avif", 50)):
        data = baselines.encode(image, name, quality)
        row = {"encode_s": median_seconds(lambda: baselines.encode(image, name, quality)),
               "decode_s": median_seconds(lambda: baselines.decode(data)), "bytes": len(data)}
        report[f"pillow_{name}_q{quality}"] = row
        report[f"speedup_vs_pillow_{name}"] = {"encode": row["encode_s"] / at_top["encode_s"],
                                               "decode": row["decode_s"] / at_top["decode_s"]}
    with tempfile.TemporaryDirectory() as folder:
        for name, array in (("768x512", image), (f"{large_side[0]}x{large_side[1]}", large)):
            row = cli_round_trip(array, Path(folder), top_rate)
            del row["decoded"]
            report[f"rdc_cli_{name}"] = row
    report["peak_rss_mib_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_path).write_text(json.dumps(report, indent=1) + "\n")
    return report


def effort_seconds(codec, image: np.ndarray, rate: float = 3.0) -> dict:
    """Seconds and bytes of one encode of a 768×512 image at every encoder effort (all layers), after a
    warm-up encode that loads the cognition backbone."""
    from ..refine import EFFORTS

    codec.encode(image, rate=rate, effort=1)
    rows = {}
    for effort in range(len(EFFORTS)):
        start = time.perf_counter()
        data = codec.encode(image, rate=rate, effort=effort)
        rows[str(effort)] = {"encode_s": time.perf_counter() - start, "bytes": len(data)}
    return rows


def compressai_reference() -> dict:
    """CompressAI's MeanScaleHyperprior(128, 192) on the Kodak image, random weights (speed does not depend
    on them), 2 threads."""
    import torch
    from compressai.models import MeanScaleHyperprior

    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = MeanScaleHyperprior(128, 192).eval()
    model.update(force=True)
    image = np.asarray(Image.open(KODAK_IMAGE).convert("RGB"))
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
