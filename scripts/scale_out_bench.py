"""Measure the scale-out paths on this machine: RDCDataset throughput (256×256 streams decoded at β=1 with
0 and 2 DataLoader workers) and stage I iterations per second in one process against two torchrun processes.

    python scripts/scale_out_bench.py -o results/scale_out.json
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from rdccodec.codec import Codec
from rdccodec.data import RDCDataset


def dataloader(folder: Path, crops: int) -> dict:
    codec = Codec()
    kodak = sorted(Path("../shared/data/kodak").glob("*.png"))
    for i in range(crops):
        with Image.open(kodak[i % len(kodak)]) as im:
            array = np.asarray(im.convert("RGB"))
        top, left = 256 * (i // len(kodak) % 2), 256 * (i // (2 * len(kodak)) % 3)
        (folder / f"{i:03d}.rdc").write_bytes(codec.encode(array[top:top + 256, left:left + 256], rate=3))
    result = {}
    for workers in (0, 2):
        loader = DataLoader(RDCDataset(folder, beta=1.0), batch_size=None, num_workers=workers)
        start = time.perf_counter()
        count = sum(1 for _ in loader)
        result[f"{workers}_workers_images_per_second"] = round(count / (time.perf_counter() - start), 2)
    return result


def training(work: Path, iterations: int) -> dict:
    result = {}
    common = ["train", "stage1", "--iterations", str(iterations), "--batch", "4", "--crop", "256",
              "--init", "rdccodec/weights/default.pt", "--data", "../shared/data/train"]
    launches = {"1_process_2_threads": [sys.executable, "-m", "rdccodec", *common, "--threads", "2"],
                "2_processes_1_thread": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                         "--nproc_per_node", "2", "-m", "rdccodec", *common, "--threads", "1"]}
    for name, command in launches.items():
        out = work / name
        subprocess.run(command + ["--out", str(out)], check=True, capture_output=True,
                       env=os.environ | {"OMP_NUM_THREADS": "1"})
        with open(out / "log.csv") as f:
            rows = list(csv.DictReader(f))
        # from the 5th iteration on: the first ones pay for warm-up
        seconds = float(rows[-1]["seconds"]) - float(rows[4]["seconds"])
        rate = (len(rows) - 5) / seconds
        crops = 4 * (2 if name.startswith("2") else 1)
        result[name] = {"iterations_per_second": round(rate, 3), "crops_per_second": round(rate * crops, 2)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops", type=int, default=96)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("-o", "--output")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch "
                             f"{torch.backends.cpu.get_cpu_capability()}",
                  "dataloader_256px_beta1": dataloader(Path(tmp), args.crops),
                  "stage1_batch4_crop256": training(Path(tmp), args.iterations)}
    print(json.dumps(report, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
