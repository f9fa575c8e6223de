#!/usr/bin/env bash
# Kodak at every encoder effort through real bytes (rdc eval), then each effort's BD-rates against effort 0:
#   bash scripts/effort_eval.sh [LIMIT [EFFORTS]]   -> results/effort/e0 … e3, results/effort/bd.json
# EFFORTS (default "0 1 2 3") picks the levels to measure; the BD-rates take every level that has results.
set -euo pipefail
LIMIT=${1:-24}
RDC=${RDC:-.venv/bin/rdc}
for effort in ${2:-0 1 2 3}; do
  "$RDC" eval ../shared/data/kodak --limit "$LIMIT" --betas 0,1 --layers 3 --baselines avif --effort "$effort" \
    -o "results/effort/e$effort" > "${TMPDIR:-/tmp}/effort-e$effort.log" 2>&1  # progress bars, not results
done
.venv/bin/python - <<'PY'
import json
from rdccodec.evaluate.bd import bd_rate
from pathlib import Path
curves = {}
for e in range(4):
    if not Path(f"results/effort/e{e}/results.json").exists():
        continue
    report = json.load(open(f"results/effort/e{e}/results.json"))
    curves[e] = {c: [a for a in report["averages"] if a["curve"] == c] for c in ("rdc β=1 layers=0", "rdc β=0 layers=3")}
    curves[e]["images"] = report["images"]
out = {}
levels = sorted(curves)
for below, e in zip(levels, levels[1:]):
    for name in ("rdc β=1 layers=0", "rdc β=0 layers=3"):
        for ref in sorted({levels[0], below}):
            t, r = sorted(curves[e][name], key=lambda a: a["bpp"]), sorted(curves[ref][name], key=lambda a: a["bpp"])
            out[f"effort {e} vs {ref}, {name}"] = round(bd_rate([a["bpp"] for a in t], [a["psnr"] for a in t],
                                                             [a["bpp"] for a in r], [a["psnr"] for a in r]), 2)
out["images"] = curves[levels[0]]["images"]
out["encoders"] = {e: json.load(open(f"results/effort/e{e}/results.json"))["encoder"] for e in levels}
json.dump(out, open("results/effort/bd.json", "w"), indent=1)
print(json.dumps(out, indent=1))
PY
