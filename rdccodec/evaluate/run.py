"""`rdc eval`: every image at every operating point through real bytes, then averages and BD-rates."""
from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .. import container, refine
from ..errors import RDCError
from ..train.data import find_images
from . import baselines
from .bd import bd_rate
from .features import METRICS as DENSE_METRICS
from .metrics import ms_ssim, psnr
from .plots import plot_curves

METRICS = ("psnr", "msssim", "top1", "top5", *DENSE_METRICS)
TASK_METRICS = {"rd": ("psnr",), "classify": ("top1", "psnr"), "features": DENSE_METRICS}
"""What each task's BD-rates are computed on."""


def prepare(path: Path, task: str) -> np.ndarray:
    """Kodak as is; for classification and features, shorter side to 256 (bicubic) and centre 256×256."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if task in ("classify", "features"):
            w, h = im.size
            s = 256 / min(w, h)
            im = im.resize((max(256, round(w * s)), max(256, round(h * s))), Image.BICUBIC)
            w, h = im.size
            im = im.crop(((w - 256) // 2, (h - 256) // 2, (w - 256) // 2 + 256, (h - 256) // 2 + 256))
        return np.asarray(im)


def _curve_name(row: dict) -> str:
    if row["codec"] == "rdc":
        return f"rdc β={row['beta']:g} layers={row['layers']}"
    return row["codec"]


def _point_key(row: dict) -> tuple:
    return (row["image"], row["codec"], row.get("rate"), row.get("beta"), row.get("layers"), row.get("quality"))


def evaluate(data_dir: str, task: str, rates: list[float], betas: list[float], layers: list[int],
             baseline_names: list[str], out_dir: str, limit: int | None, classifier_variant: int,
             weights: str | None = None, effort: int = 0) -> dict:
    from ..codec import Codec

    codec = Codec(weights)
    # the CLI refuses bad β as a usage error; the API gets the same check as rates and layers
    limits = (("rates", rates, codec.levels - 1), ("layers", layers, codec.layers), ("betas", betas, 1))
    for name, values, top in limits:
        if any(not 0 <= v <= top for v in values):
            raise RDCError(f"{name} must lie in [0, {top}] for this model")
    out = Path(out_dir)
    results_path = out / "results.json"
    paths = find_images([data_dir])
    labels = None
    classifier = fidelity = None
    if task == "classify":
        from .classify import Classifier, imagenet_labels

        labels = imagenet_labels(paths)
        classifier = Classifier(classifier_variant)
    if task == "features":
        from .features import DenseFidelity

        fidelity = DenseFidelity(classifier_variant)
    if limit:
        paths = paths[::max(1, len(paths) // limit)][:limit]
    classifier_name = f"EfficientNet-Lite{classifier_variant}" if task != "rd" else None
    previous = json.loads(results_path.read_text()) if results_path.exists() else {}
    setup = {"task": task, "classifier": classifier_name, "model_sha256": codec.sha256,
             "encoder": f"{codec.analysis_precision} analyses" + (f", {refine.describe(effort)}" if effort else "")}
    same_baselines = all(previous.get(key) == setup[key] for key in ("task", "classifier"))
    same_rdc = same_baselines and all(previous.get(key) == setup[key] for key in ("model_sha256", "encoder"))
    done = {_point_key(r): r for r in previous.get("rows", [])
            if (same_rdc if r["codec"] == "rdc" else same_baselines)}  # finished points of the same setup
    rows: list[dict] = []
    plan = []
    for path in paths:
        for rate in rates:
            plan.append((path, "rdc", rate))
        for name in baseline_names:
            for quality in baselines.QUALITIES[name]:
                plan.append((path, name, quality))
    current_path, original, original_maps = None, None, None

    def measure(row: dict, data_len: int, decoded: np.ndarray) -> dict:
        row["bytes"] = data_len
        row["bpp"] = 8 * data_len / (original.shape[0] * original.shape[1])
        row["psnr"] = psnr(original, decoded)
        row["msssim"] = ms_ssim(original, decoded)
        if classifier is not None:
            row["top1"], row["top5"] = classifier.topk(decoded, labels[current_path])
        if fidelity is not None:
            row |= fidelity.similarity(original_maps, decoded)
        return row

    for path, name, setting in tqdm(plan, desc=f"eval {task}", unit="point"):
        if path != current_path:
            current_path, original = path, prepare(path, task)
            original_maps = fidelity.maps(original) if fidelity is not None else None
        image = path.name
        if name == "rdc":
            wanted = [(1.0, 0)] + [(b, k) for b in betas if b < 1 for k in layers if k > 0]
            keys = [_point_key({"image": image, "codec": "rdc", "rate": setting, "beta": b, "layers": k}) for b, k in wanted]
            if all(k in done for k in keys):
                rows += [done[k] for k in keys]
                continue
            full = codec.encode(original, rate=setting, effort=effort)
            for beta, k in wanted:
                data = container.drop_layers(full, k)
                decoded = np.asarray(codec.decode(data, beta=beta).image.convert("RGB"))
                rows.append(measure({"image": image, "codec": "rdc", "rate": setting, "beta": beta, "layers": k},
                                    len(data), decoded))
        else:
            key = _point_key({"image": image, "codec": name, "quality": setting})
            if key in done:
                rows.append(done[key])
                continue
            data = baselines.encode(original, name, setting)
            rows.append(measure({"image": image, "codec": name, "quality": setting}, len(data), baselines.decode(data)))

    summary = summarise(rows, task)
    report = {**setup, "data": str(data_dir), "images": len(paths), "averages": summary["averages"],
              "bd_rate": summary["bd_rate"], "scalability": scalability(rows), "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    tmp = results_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, results_path)
    _write_csv(out / "results.csv", rows, summary["averages"])
    curves = summary["curves"]
    plot_curves(curves, "psnr", "RGB PSNR (dB)", out / "rd_psnr.png")
    plot_curves(curves, "msssim", "MS-SSIM", out / "rd_msssim.png")
    if task == "classify":
        plot_curves(curves, "top1", "top-1 accuracy", out / "rate_top1.png")
    for metric in DENSE_METRICS if task == "features" else ():
        plot_curves(curves, metric, f"feature cosine similarity, stride {metric[5:]}", out / f"rate_{metric}.png")
    return report


def summarise(rows: list[dict], task: str) -> dict:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(_curve_name(row), row.get("rate"), row.get("quality"))].append(row)
    averages = []
    for (curve, rate, quality), members in groups.items():
        avg = {"curve": curve, "rate": rate, "quality": quality, "images": len(members),
               "bpp": float(np.mean([m["bpp"] for m in members]))}
        for metric in METRICS:
            values = [float(m[metric]) for m in members if m.get(metric) is not None]
            avg[metric] = float(np.mean(values)) if values else None
        averages.append(avg)
    curves: dict[str, list[dict]] = defaultdict(list)
    for avg in sorted(averages, key=lambda a: a["bpp"]):
        curves[avg["curve"]].append(avg)
    bd = {}
    references = {name: pts for name, pts in curves.items() if not name.startswith("rdc")}
    if "avif" in references:
        references["avif q25-60"] = [p for p in references["avif"] if p["quality"] in baselines.AVIF_BD_QUALITIES]
    for name, pts in curves.items():
        if not name.startswith("rdc"):
            continue
        bd[name] = {}
        for ref_name, ref in references.items():
            for m in TASK_METRICS[task]:
                value = bd_rate([p["bpp"] for p in pts], [p[m] for p in pts],
                                [p["bpp"] for p in ref], [p[m] for p in ref]) if all(
                    p[m] is not None for p in pts + ref) else None
                bd[name][f"{ref_name} ({m})"] = None if value is None else round(value, 2)
    return {"averages": averages, "curves": dict(curves), "bd_rate": bd}


def _monotonic(values: list[float]) -> bool:
    steps = np.diff(values)
    return bool(np.all(steps >= 0) or np.all(steps <= 0))


def scalability(rows: list[dict]) -> dict:
    """What the issue asks of the layers and of β, image by image and rate by rate.

    `layer_steps`: the PSNR gain (dB) at β=0 from each evaluated layer count to the next (from x̂1, i.e. β=1
    without layers, to the first): mean, least, and how many steps do not rise. `beta`: for how many
    (image, rate, layers) PSNR is monotonic over the evaluated β (β=1 is x̂1 for every layer count)."""
    psnr = {(r["image"], r["rate"], r["beta"], r["layers"]): r["psnr"] for r in rows if r["codec"] == "rdc"}
    points = {(image, rate) for image, rate, _, _ in psnr}
    counts = sorted({k for _, _, beta, k in psnr if beta == 0 and k > 0})
    key = lambda image, rate, k: (image, rate, 0.0, k) if k else (image, rate, 1.0, 0)  # β=0 with k layers
    steps = {}
    for below, k in zip([0] + counts, counts):
        pairs = [(key(i, r, below), key(i, r, k)) for i, r in sorted(points)]
        gains = [psnr[upper] - psnr[lower] for lower, upper in pairs if lower in psnr and upper in psnr]
        if gains:
            steps[f"{below}→{k}"] = {"mean_db": float(np.mean(gains)), "least_db": float(np.min(gains)),
                                     "not_rising": int(np.sum(np.array(gains) <= 0)), "of": len(gains)}
    betas = sorted({beta for _, _, beta, k in psnr if k > 0 and beta < 1})
    series = [[psnr[(i, r, b, k)] for b in betas if (i, r, b, k) in psnr] + [psnr[(i, r, 1.0, 0)]]
              for i, r in sorted(points) for k in counts if (i, r, 1.0, 0) in psnr]
    series = [s for s in series if len(s) > 2]  # two points are monotonic by definition
    return {"layer_steps": steps,
            "beta": {"monotonic": sum(_monotonic(s) for s in series), "of": len(series), "betas": betas + [1.0]}}


def _write_csv(path: Path, rows: list[dict], averages: list[dict]) -> None:
    fields = ["image", "codec", "rate", "quality", "beta", "layers", "bytes", "bpp", *METRICS]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        for avg in averages:
            writer.writerow({"image": "AVERAGE", "codec": avg["curve"], "rate": avg["rate"],
                             "quality": avg["quality"], "bpp": avg["bpp"],
                             **{m: avg[m] for m in METRICS}})
