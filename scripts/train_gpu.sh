#!/usr/bin/env bash
# Continue both training stages on a lent GPU within a fixed time, then leave slim checkpoints in $OUT.
#
# Usage (on the device machine, repo root): [LIMIT=SECONDS] bash scripts/train_gpu.sh SECONDS_STAGE1 SECONDS_STAGE2
# Needs .gpu/ (ignored, carried), made here by scripts/gpu_bundle.py: wheels, the EfficientNet-Lite0
# weights, init.pt (the weights to continue from) and the training photos.
# Each stage first runs a short probe to measure its iterations per second, then trains for as many
# iterations as fit its seconds, so its cosine schedule runs to the end. With LIMIT (the seconds the whole
# script may take, e.g. a device call's limit), stage II shrinks to what stage I left of it: round 11's
# machine ran slower than its probes and a call limit cut stage II short.
# STAGE1_OPTIONS and STAGE2_OPTIONS add options to each stage's run (empty: round 11's recipe, as
# `make train-gpu` reproduces it); today's recipe is STAGE1_OPTIONS="--spatial-cognition --ema 0.999"
# STAGE2_OPTIONS="--ema 0.999". With --ema a stage's weight average comes back too (average.pt), and
# stage II starts from stage I's.
set -euo pipefail
SECONDS1=${1:?seconds for stage I}
SECONDS2=${2:?seconds for stage II}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/out}
LIMIT=${LIMIT:-0}
RUN=${RUN:-runs/gpu}  # where the runs train there; the settings.json that comes back records it
read -ra OPTIONS1 <<< "${STAGE1_OPTIONS:-}"
read -ra OPTIONS2 <<< "${STAGE2_OPTIONS:-}"
COMMON=(--data .gpu/train --batch "${BATCH:-16}" --crop "${CROP:-256}" --device "$DEVICE" --threads 4)

[ "${INSTALL:-1}" = 0 ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=$PWD:$PWD/.gpu/site:/tmp/site PYTHONUNBUFFERED=1
python3 -c "import torch, compressai, timm, rdccodec.train.stage1; print(torch.__version__, compressai.__version__, timm.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"

rdc() { python3 -m rdccodec "$@"; }

iterations_for() {  # probe log, seconds → iterations that fit, from the probe's second half
    python3 - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
half = rows[len(rows) // 2]
rate = (int(rows[-1]["iteration"]) - int(half["iteration"])) / (float(rows[-1]["seconds"]) - float(half["seconds"]))
print(max(1, int(rate * float(sys.argv[2]))))
print(f"{rate:.2f} it/s", file=sys.stderr)
EOF
}

slim() {  # run folder → $OUT/name: weights in fp32 and the record, without optimiser state
    mkdir -p "$OUT/$2"
    python3 - "$1/checkpoint.pt" "$OUT/$2/checkpoint.pt" <<'EOF'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
torch.save({k: state[k] for k in ("model", "iteration", "seconds", "machine", "settings")}, sys.argv[2])
EOF
    cp "$1/log.csv" "$1/settings.json" "$OUT/$2/"
    [ ! -f "$1/average.pt" ] || cp "$1/average.pt" "$OUT/$2/"
}

last() {  # run folder → the weights the next stage starts from: the average where one was kept
    if [ -f "$1/average.pt" ]; then echo "$1/average.pt"; else echo "$1/checkpoint.pt"; fi
}

rdc train stage1 "${COMMON[@]}" "${OPTIONS1[@]}" --iterations 120 --out /tmp/probe1 --init .gpu/init.pt \
    --lambdas 0.0004 0.05
N1=$(iterations_for /tmp/probe1/log.csv "$SECONDS1")
echo "stage I: $N1 iterations"
rdc train stage1 "${COMMON[@]}" "${OPTIONS1[@]}" --iterations "$N1" --lr 1.5e-4 --lambdas 0.0004 0.05 \
    --out "$RUN"/stage1 --init .gpu/init.pt
slim "$RUN"/stage1 stage1
INIT2=$(last "$RUN"/stage1)

rdc train stage2 "${COMMON[@]}" "${OPTIONS2[@]}" --iterations 120 --out /tmp/probe2 --init "$INIT2"
if [ "$LIMIT" -gt 0 ] && [ $((LIMIT - SECONDS - 30)) -lt "$SECONDS2" ]; then  # 30 s: start-up and slim
    SECONDS2=$((LIMIT - SECONDS - 30))
fi
N2=$(iterations_for /tmp/probe2/log.csv "$SECONDS2")
echo "stage II: $N2 iterations"
rdc train stage2 "${COMMON[@]}" "${OPTIONS2[@]}" --iterations "$N2" --lr 2e-4 --out "$RUN"/stage2 \
    --init "$INIT2"
slim "$RUN"/stage2 stage2
