#!/usr/bin/env bash
# Kodak at every encoder effort through real bytes (rdc eval), then each effort's BD-rates against effort 0:
#   bash scripts/effort_eval.sh [LIMIT]     -> results/effort/e0 … e3, results/effort/bd.json
set -euo pipefail
LIMIT=${1:-24}
RDC=${RDC:-.venv/bin/rdc}
for effort in 0 1 2 3; do
  "$RDC" eval ../shared/data/kodak --limit "$LIMIT" --betas 0,1 --layers 3 --baselines avif --effort "$effort" \
    -o "results/effort/e$effort" > "${TMPDIR:-/tmp}/effort-e$effort.log" 2>&1  # progress bars, not results
done
.venv/bin/python - <<'PY'
import json
from rdccodec.evaluate.bd import bd_rate
curves = {}
for e in range(4):
    report = json.load(open(f"results/effort/e{e}/results.json"))
    curves[e] = {c: [a for a in report["averages"] if a["curve"] == c] for c in ("rdc β=1 layers=0", "rdc β=0 layers=3")}
    curves[e]["images"] = report["images"]
out = {}
for e in range(1, 4):
    for name in ("rdc β=1 layers=0", "rdc β=0 layers=3"):
        for ref in (0, e - 1):
            t, r = sorted(curves[e][name], key=lambda a: a["bpp"]), sorted(curves[ref][name], key=lambda a: a["bpp"])
            out[f"effort {e} vs {ref}, {name}"] = round(bd_rate([a["bpp"] for a in t], [a["psnr"] for a in t],
                                                             [a["bpp"] for a in r], [a["psnr"] for a in r]), 2)
out["images"] = curves[0]["images"]
json.dump(out, open("results/effort/bd.json", "w"), indent=1)
print(json.dumps(out, indent=1))
PY
