# Two commands set everything up: `make install`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test train train-gpu train-s12 train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21 train-s22 train-s23 train-s24 train-s25 clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -e '.[test,eval]'

test:
	$(BIN)/python -m pytest -q

# The recipe of the shipped weights is this target and the ones below it, in order (each comment gives the
# run's time; README › Training gives the one command). This one, 8.6 hours on two CPU cores: stages I and II,
# both continued with fresh, lower-rate schedules, then stage I twice more at lower λ for the lowest rates
# (session 4's and session 6's runs, hence the folder names) and stage II on the result, then both once more (session 7's CPU
# runs, runs/s8: its GPU runs in runs/s7 diverged, see README › Training), then both again with stage II
# re-splitting the residual latent into layers of 12, 12 and 72 channels (session 8, runs/s9; the stage II
# runs before it trained three equal layers of 32), then stage II once more with the residual synthesis
# widened from 48 to 64 channels (session 9, runs/s10; the runs before it had 48), then both once more
# (session 10, runs/s11), exported as intermediate weights. A run keeps the model
# shape of the checkpoint it starts from: --residual-layers and --residual-synthesis appear where it changed.
train:
	$(BIN)/rdc train stage1 --iterations 10000 --out runs/default/stage1 --resume \
		--residual-layers 32,32,32 --residual-synthesis 48
	$(BIN)/rdc train stage2 --iterations 6000 --out runs/default/stage2 --resume \
		--init runs/default/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 5000 --lr 1.5e-4 --out runs/more/stage1 --resume \
		--init runs/default/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 9000 --lr 2e-4 --out runs/more/stage2 --resume \
		--init runs/more/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 4000 --lr 1e-4 --lambdas 0.0005 0.05 --out runs/s4/stage1 --resume \
		--init runs/more/stage2/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 2000 --lr 1e-4 --lambdas 0.0004 0.05 --out runs/s6/stage1 --resume \
		--init runs/s4/stage1/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 5000 --lr 2e-4 --out runs/s6/stage2 --resume \
		--init runs/s6/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 4000 --lr 1e-4 --lambdas 0.0004 0.05 --out runs/s8/stage1 --resume \
		--init runs/s6/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 6000 --lr 1.5e-4 --out runs/s8/stage2 --resume \
		--init runs/s8/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 8000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 9 --out runs/s9/stage1 \
		--resume --init runs/s8/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 18000 --lr 2e-4 --seed 9 --out runs/s9/stage2 --resume \
		--init runs/s9/stage1/checkpoint.pt --residual-layers 12,12,72
	$(BIN)/rdc train stage2 --iterations 20000 --lr 2e-4 --seed 10 --out runs/s10/stage2 --resume \
		--init runs/s9/stage2/checkpoint.pt --residual-synthesis 64
	$(BIN)/rdc train stage1 --iterations 10000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 11 --out runs/s11/stage1 \
		--resume --init runs/s10/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 10000 --lr 1.5e-4 --seed 11 --out runs/s11/stage2 --resume \
		--init runs/s11/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/s11/stage1 runs/s11/stage2 -o runs/s11/weights.pt \
		--earlier runs/default/stage1 --earlier runs/default/stage2 --earlier runs/more/stage1 \
		--earlier runs/more/stage2 --earlier runs/s4/stage1 --earlier runs/s6/stage1 \
		--earlier runs/s6/stage2 --earlier runs/s8/stage1 --earlier runs/s8/stage2 --earlier runs/s9/stage1 \
		--earlier runs/s9/stage2 --earlier runs/s10/stage2 \
		--command "make train"

# Then both stages once more on a CUDA machine, from those weights (session 11, one lent H100; about eight
# minutes): batch 16 × 256-px crops, each stage's iterations set by a probe of its speed (README › Training).
# There the device's 600-second call limit stopped stage II at iteration 2 440; it was resumed (--resume) from
# its checkpoint at 2 400 to its planned 3 496. The card records both runs and, through runs/s11/weights.json,
# every run before them.
train-gpu:
	$(BIN)/python scripts/gpu_bundle.py runs/s11/weights.pt
	PATH=$(abspath $(BIN)):$$PATH INSTALL=0 RUN=runs/gpu OUT=runs/gpu-slim bash scripts/train_gpu.sh 310 160
	$(BIN)/rdc train export runs/gpu/stage1 runs/gpu/stage2 -o runs/gpu/weights.pt \
		--earlier runs/s11/weights.json --command "make train train-gpu"

# Then both stages once more on two CPU cores from those weights (session 12, no device; 72 minutes), exported
# as intermediate weights.
train-s12:
	$(BIN)/rdc train stage1 --iterations 7000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 12 --out runs/s12/stage1 \
		--resume --init runs/gpu/weights.pt
	$(BIN)/rdc train stage2 --iterations 9000 --lr 1.5e-4 --seed 12 --out runs/s12/stage2 --resume \
		--init runs/s12/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/s12/stage1 runs/s12/stage2 -o runs/s12/weights.pt \
		--earlier runs/gpu/weights.json --command "make train train-gpu train-s12"

# Then both stages once more on two CPU cores from those weights, on 256-px crops in batches of 4 (twice the
# pixels per iteration of 8 × 128 px; session 13, no device; 86 minutes), exported as intermediate weights.
train-s13:
	$(call cpu_round_256,13,runs/s12/weights.pt,runs/s13/weights.pt,runs/s12/weights.json,train-s13)

# Then the same once more from those weights (session 14, no device; 95 minutes), exported as intermediate
# weights.
train-s14:
	$(call cpu_round_256,14,runs/s13/weights.pt,runs/s14/weights.pt,runs/s13/weights.json,train-s13 train-s14)

# Then the same once more again (session 15, no device; 98 minutes).
train-s15:
	$(call cpu_round_256,15,runs/s14/weights.pt,runs/s15/weights.pt,runs/s14/weights.json,train-s13 train-s14 train-s15)

# And once more (session 16, no device; 90 minutes).
train-s16:
	$(call cpu_round_256,16,runs/s15/weights.pt,runs/s16/weights.pt,runs/s15/weights.json,train-s13 train-s14 train-s15 train-s16)

# And once more (session 17, no device; 96 minutes).
train-s17:
	$(call cpu_round_256,17,runs/s16/weights.pt,runs/s17/weights.pt,runs/s16/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17)

# And once more (session 18, no device; 88 minutes).
train-s18:
	$(call cpu_round_256,18,runs/s17/weights.pt,runs/s18/weights.pt,runs/s17/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18)

# And once more (session 19, no device; 87 minutes).
train-s19:
	$(call cpu_round_256,19,runs/s18/weights.pt,runs/s19/weights.pt,runs/s18/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19)

# And once more (session 20, no device; 83 minutes).
train-s20:
	$(call cpu_round_256,20,runs/s19/weights.pt,runs/s20/weights.pt,runs/s19/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20)

# And once more (session 21, no device; 72 minutes).
train-s21:
	$(call cpu_round_256,21,runs/s20/weights.pt,runs/s21/weights.pt,runs/s20/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21)

# And once more (session 22, no device; 79 minutes).
train-s22:
	$(call cpu_round_256,22,runs/s21/weights.pt,runs/s22/weights.pt,runs/s21/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21 train-s22)

# And once more (session 23, no device; 81 minutes).
train-s23:
	$(call cpu_round_256,23,runs/s22/weights.pt,runs/s23/weights.pt,runs/s22/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21 train-s22 train-s23)

# And once more (session 24, no device; 88 minutes).
train-s24:
	$(call cpu_round_256,24,runs/s23/weights.pt,runs/s24/weights.pt,runs/s23/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21 train-s22 train-s23 train-s24)

# And once more (session 25, no device; 78 minutes), exported as the shipped weights. The card records both runs
# and, through runs/s24/weights.json, every run before them.
train-s25:
	$(call cpu_round_256,25,runs/s24/weights.pt,rdccodec/weights/default.pt,runs/s24/weights.json,train-s13 train-s14 train-s15 train-s16 train-s17 train-s18 train-s19 train-s20 train-s21 train-s22 train-s23 train-s24 train-s25)

# One CPU round on 256-px crops: $(1) the seed and run folder number, $(2) the weights it continues, $(3) the
# exported weights, $(4) the card of the weights it continues, $(5) the make targets of the rounds so far.
define cpu_round_256
	$(BIN)/rdc train stage1 --iterations 5000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 --seed $(1) \
		--out runs/s$(1)/stage1 --resume --init $(2)
	$(BIN)/rdc train stage2 --iterations 6000 --batch 4 --crop 256 --lr 1.5e-4 --seed $(1) --out runs/s$(1)/stage2 \
		--resume --init runs/s$(1)/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/s$(1)/stage1 runs/s$(1)/stage2 -o $(3) \
		--earlier $(4) --command "make train train-gpu train-s12 $(5)"
endef

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

.PHONY: bench
bench:
	$(BIN)/python -m rdccodec.evaluate.bench
