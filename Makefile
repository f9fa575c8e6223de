# Two commands set everything up: `make install`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test docs-check train-shipped ab-r27 ab-r27-stage1 ab-r28 ab-r29-stage1 ab-r29 ab-r29-stage2 ab-r30 ab-r31-stage1 ab-r31 ab-r31-stage2 ab-r32-stage1 ab-r32 ab-r33 r33-runs ab-r34 ab-r35 train train-gpu train-r12 train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21 train-r22 train-r23 train-r24 train-r25 train-r28 train-r33 train-r34 clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -e '.[test,eval]'

test:
	$(BIN)/python -m pytest -q

# Runs every shell example of README.md and docs/*.md (long ones are parsed, not run).
docs-check:
	$(BIN)/python scripts/docs_check.py

# The shipped weights from scratch: every round below, in order (about 30 hours on two CPU cores; train-gpu
# needs a CUDA machine for eight minutes). docs/training.md tells what each round changed.
train-shipped: train train-gpu train-r12 train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 \
		train-r20 train-r21 train-r22 train-r23 train-r24 train-r25 train-r33 train-r34

# A/B from the shipped weights (round 27, 2026-12-06): stage I of the shipped recipe with a weight average
# kept beside it, against the same with the spatial cognition term; one core each, run side by side, judged
# with scripts/estimate_round.py (docs/training.md › A/B rounds). Round 27 judged them at iteration 3000
# (93 minutes each, on an AVX-512 CPU shared with other work); round 28 took them on to 4000. Their
# checkpoints (runs/, 64 MB each as written then; 45 MB now that the frozen backbone is left out) are not in
# the repository, so this target, where runs/ is empty, starts them over.
ab-r27: ab-r27-stage1
	$(BIN)/python scripts/estimate_round.py runs/r27-control/stage1/checkpoint.pt runs/r27-control/stage1/average.pt \
		runs/r27-spatial/stage1/checkpoint.pt runs/r27-spatial/stage1/average.pt --imagenet 100 --reference runs/r25/weights.pt \
		-o results/rounds/r27.json

ab-r27-stage1:
	$(BIN)/rdc train stage1 --iterations 4000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 --seed 27 \
		--threads 1 --ema 0.999 --out runs/r27-control/stage1 --resume --init runs/r25/weights.pt & \
	$(BIN)/rdc train stage1 --iterations 4000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 --seed 27 \
		--threads 1 --ema 0.999 --spatial-cognition --out runs/r27-spatial/stage1 --resume \
		--init runs/r25/weights.pt & wait

# Round 28 (2026-12-06): round 27's A/B made full rounds. Both stage-I runs go on to their 4000 iterations,
# then stage II of the shipped recipe trains the residual on each one's weight average (EMA kept here too);
# one core each, side by side; judged like round 27 (docs/training.md › A/B rounds).
ab-r28: ab-r27-stage1
	$(BIN)/rdc train stage2 --iterations 3000 --batch 4 --crop 256 --lr 1.5e-4 --seed 28 --threads 1 --ema 0.999 \
		--out runs/r28-control/stage2 --resume --init runs/r27-control/stage1/average.pt & \
	$(BIN)/rdc train stage2 --iterations 3000 --batch 4 --crop 256 --lr 1.5e-4 --seed 28 --threads 1 --ema 0.999 \
		--out runs/r28-spatial/stage2 --resume --init runs/r27-spatial/stage1/average.pt & wait
	$(BIN)/python scripts/estimate_round.py runs/r28-control/stage2/checkpoint.pt runs/r28-control/stage2/average.pt \
		runs/r28-spatial/stage2/checkpoint.pt runs/r28-spatial/stage2/average.pt --imagenet 100 --reference runs/r25/weights.pt \
		-o results/rounds/r28.json

# The A/B rounds' stage I, round 28's recipe on two threads: $(1) the run folder under runs/, $(2) the options
# that make the change, $(3) the weights it starts from (default round 25's), $(4) the seed (default 27).
define ab_stage1
	$(BIN)/rdc train stage1 --iterations 4000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 \
		--seed $(or $(4),27) --threads 2 --ema 0.999 $(2) --out runs/$(1)/stage1 --resume \
		--init $(or $(3),runs/r25/weights.pt)
endef

# Their stage II (round 28's) on the stage I weight average: $(1) the run folder, $(2) the seed (default 28).
define stage2_run
	$(BIN)/rdc train stage2 --iterations 3000 --batch 4 --crop 256 --lr 1.5e-4 --seed $(or $(2),28) --threads 2 --ema 0.999 \
		--out runs/$(1)/stage2 --resume --init runs/$(1)/stage1/average.pt
endef
# A finished run judged against a control's: $(1) the run folder, $(2) the control's stage II average, $(3) the
# results JSON, $(4) the reference (default round 25's weights).
define ab_estimate
	$(BIN)/python scripts/estimate_round.py $(2) runs/$(1)/stage2/average.pt --imagenet 100 \
		--reference $(or $(4),runs/r25/weights.pt) --threads 2 -o $(3)
endef
# Stage II and the estimate: $(1), $(2) as stage2_run, $(3) and $(4) as $(2) and $(3) of ab_estimate.
define ab_stage2
	$(call stage2_run,$(1),$(2))
	$(call ab_estimate,$(1),$(3),$(4))
endef

# Weights shipped at an earlier commit, taken from git (runs/shipped/COMMIT.pt), so that rounds which start
# from them, and estimates against them, run on a checkout without the earlier rounds' runs/ folders.
runs/shipped/%.pt:
	mkdir -p $(@D) && git show $*:rdccodec/weights/default.pt > $@.part && mv $@.part $@

# Round 29 (2026-12-07): the checkerboard context on the primary latent in round 27's stage I, judged against
# round 27's control at the same iteration (docs/training.md › A/B rounds). One run at a time on two threads:
# 1.8 iterations per second alone against 0.8 for each of two runs on one thread side by side.
ab-r29-stage1:
	$(call ab_stage1,r29-checkerboard,--checkerboard)

ab-r29: ab-r29-stage1
	$(BIN)/python scripts/estimate_round.py runs/r27-control/stage1/average.pt \
		runs/r29-checkerboard/stage1/average.pt --imagenet 100 --reference runs/r25/weights.pt \
		-o results/rounds/r29.json

# Round 29 made a full round: stage II of round 28's recipe on the checkerboard run, judged against round
# 28's control (2 115 s on two threads; docs/training.md › A/B rounds).
ab-r29-stage2: ab-r29-stage1
	$(call ab_stage2,r29-checkerboard,,runs/r28-control/stage2/average.pt,results/rounds/r29-stage2.json)

# Round 30 (2026-12-07): a primary of 96 channels (widened without changing its output) in round 28's recipe,
# against round 28's control; two threads, 3 992 + 1 690 s (docs/training.md › A/B rounds: no gain).
ab-r30:
	$(call ab_stage1,r30-wide,--primary-width 96)
	$(call ab_stage2,r30-wide,,runs/r28-control/stage2/average.pt,results/rounds/r30.json)

# Round 31 (2026-12-07): a large-batch stage I, 16 crops per update (4 × --accumulate 4) at twice the rate,
# 1000 updates: the crops (16 000) and time of round 27's control stage I, judged against it; the average's
# decay 0.996 spans the same crops as 0.999 does at batch 4. Two threads, 2 417 s (docs/training.md › A/B
# rounds: +1.0 % at β=1).
ab-r31-stage1:
	$(BIN)/rdc train stage1 --iterations 1000 --batch 4 --accumulate 4 --crop 256 --lr 2e-4 --lambdas 0.0004 0.05 \
		--seed 27 --threads 2 --ema 0.996 --out runs/r31-batch16/stage1 --resume --init runs/r25/weights.pt

ab-r31: ab-r31-stage1
	$(BIN)/python scripts/estimate_round.py runs/r27-control/stage1/average.pt \
		runs/r31-batch16/stage1/average.pt --imagenet 100 --reference runs/r25/weights.pt -o results/rounds/r31.json

# Round 31 made a full round: stage II of round 28's recipe on the large-batch stage I, against round 28's
# control (1 193 s on two threads).
ab-r31-stage2: ab-r31-stage1
	$(call ab_stage2,r31-batch16,,runs/r28-control/stage2/average.pt,results/rounds/r31-stage2.json)

# Round 32 (2026-12-07): the contrastive form of the spatial term (InfoNCE over locations) in round 28's
# recipe, against its distance form (round 28's spatial arm, shipped); two threads. Stage I is judged
# first against the distance form's stage I (the cognition term acts on the primary only). 1 992 + 1 160 s:
# the distance form keeps more dense fidelity (docs/training.md › A/B rounds).
ab-r32-stage1:
	$(call ab_stage1,r32-contrastive,--spatial-cognition contrastive)
	$(BIN)/python scripts/estimate_round.py runs/r27-spatial/stage1/average.pt \
		runs/r32-contrastive/stage1/average.pt --imagenet 100 --reference runs/r25/weights.pt --threads 2 \
		-o results/rounds/r32-stage1.json

ab-r32: ab-r32-stage1
	$(call ab_stage2,r32-contrastive,,runs/r28-spatial/stage2/average.pt,results/rounds/r32.json)

# Round 33 (2026-12-07): the two changes that won something, together: round 28's shipped recipe (spatial
# term, distance form) with the checkerboard context of round 29, against round 28's spatial arm; two threads,
# 2 122 + 1 196 s (docs/training.md › A/B rounds: −0.43 % at β=1).
ab-r33: r33-runs
	$(call ab_estimate,r33-spatial-checkerboard,runs/r28-spatial/stage2/average.pt,results/rounds/r33.json)

# Round 33's two runs, for its A/B above and for the shipped chain (train-r33).
r33-runs:
	$(call ab_stage1,r33-spatial-checkerboard,--spatial-cognition --checkerboard)
	$(call stage2_run,r33-spatial-checkerboard)

# Round 34 (2026-12-07): round 33 taken on for one more full round of its own recipe (a longer schedule of the
# best recipe found), from round 33's weights with fresh seeds, judged against round 33 (results/rounds/r34.json).
# Its runs finished and ship (train-r34); their settings and logs are in runs/r34-continued, checkpoints are not.
ab-r34: runs/shipped/ac2d276.pt runs/shipped/4fad55a.pt
	$(call r34_runs,runs/shipped/ac2d276.pt)
	$(call ab_estimate,r34-continued,runs/shipped/ac2d276.pt,results/rounds/r34.json,runs/shipped/4fad55a.pt)

# Round 34's two runs, for its A/B above and for the shipped chain (train-r34): $(1) the weights they start from.
define r34_runs
	$(call ab_stage1,r34-continued,--spatial-cognition,$(1),34)
	$(call stage2_run,r34-continued,34)
endef

# Round 35 (2026-12-07, issue 35): round 34's recipe with the spatial term weighed 800 instead of 200, from the
# shipped weights (round 34's, f98c5402…), against them; seeds 35.
ab-r35: runs/shipped/3a9d27e.pt runs/shipped/4fad55a.pt
	$(call ab_stage1,r35-spatial800,--spatial-cognition --spatial-weight 800,runs/shipped/3a9d27e.pt,35)
	$(call stage2_run,r35-spatial800,35)
	$(call ab_estimate,r35-spatial800,runs/shipped/3a9d27e.pt,results/rounds/r35.json,runs/shipped/4fad55a.pt)

# The recipe of the shipped weights is this target and the ones below it, in order (each comment gives the
# run's time; docs/training.md gives the one command). This one, 8.6 hours on two CPU cores: stages I and II,
# both continued with fresh, lower-rate schedules, then stage I twice more at lower λ for the lowest rates
# (round 4's and round 6's runs, hence the folder names) and stage II on the result, then both once more (round 7's CPU
# runs, runs/r8: its GPU runs in runs/r7 diverged, see docs/training.md), then both again with stage II
# re-splitting the residual latent into layers of 12, 12 and 72 channels (round 8, runs/r9; the stage II
# runs before it trained three equal layers of 32), then stage II once more with the residual synthesis
# widened from 48 to 64 channels (round 9, runs/r10; the runs before it had 48), then both once more
# (round 10, runs/r11), exported as intermediate weights. A run keeps the model
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
	$(BIN)/rdc train stage1 --iterations 4000 --lr 1e-4 --lambdas 0.0005 0.05 --out runs/r4/stage1 --resume \
		--init runs/more/stage2/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 2000 --lr 1e-4 --lambdas 0.0004 0.05 --out runs/r6/stage1 --resume \
		--init runs/r4/stage1/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 5000 --lr 2e-4 --out runs/r6/stage2 --resume \
		--init runs/r6/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 4000 --lr 1e-4 --lambdas 0.0004 0.05 --out runs/r8/stage1 --resume \
		--init runs/r6/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 6000 --lr 1.5e-4 --out runs/r8/stage2 --resume \
		--init runs/r8/stage1/checkpoint.pt
	$(BIN)/rdc train stage1 --iterations 8000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 9 --out runs/r9/stage1 \
		--resume --init runs/r8/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 18000 --lr 2e-4 --seed 9 --out runs/r9/stage2 --resume \
		--init runs/r9/stage1/checkpoint.pt --residual-layers 12,12,72
	$(BIN)/rdc train stage2 --iterations 20000 --lr 2e-4 --seed 10 --out runs/r10/stage2 --resume \
		--init runs/r9/stage2/checkpoint.pt --residual-synthesis 64
	$(BIN)/rdc train stage1 --iterations 10000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 11 --out runs/r11/stage1 \
		--resume --init runs/r10/stage2/checkpoint.pt
	$(BIN)/rdc train stage2 --iterations 10000 --lr 1.5e-4 --seed 11 --out runs/r11/stage2 --resume \
		--init runs/r11/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/r11/stage1 runs/r11/stage2 -o runs/r11/weights.pt \
		--earlier runs/default/stage1 --earlier runs/default/stage2 --earlier runs/more/stage1 \
		--earlier runs/more/stage2 --earlier runs/r4/stage1 --earlier runs/r6/stage1 \
		--earlier runs/r6/stage2 --earlier runs/r8/stage1 --earlier runs/r8/stage2 --earlier runs/r9/stage1 \
		--earlier runs/r9/stage2 --earlier runs/r10/stage2 \
		--command "make train"

# Then both stages once more on a CUDA machine, from those weights (round 11, one lent H100; about eight
# minutes): batch 16 × 256-px crops, each stage's iterations set by a probe of its speed (docs/training.md).
# There the device's 600-second call limit stopped stage II at iteration 2 440; it was resumed (--resume) from
# its checkpoint at 2 400 to its planned 3 496. The card records both runs and, through runs/r11/weights.json,
# every run before them.
train-gpu:
	$(BIN)/python scripts/gpu_bundle.py runs/r11/weights.pt
	PATH=$(abspath $(BIN)):$$PATH INSTALL=0 RUN=runs/gpu OUT=runs/gpu-slim bash scripts/train_gpu.sh 310 160
	$(BIN)/rdc train export runs/gpu/stage1 runs/gpu/stage2 -o runs/gpu/weights.pt \
		--earlier runs/r11/weights.json --command "make train train-gpu"

# Then both stages once more on two CPU cores from those weights (round 12, no device; 72 minutes), exported
# as intermediate weights.
train-r12:
	$(BIN)/rdc train stage1 --iterations 7000 --lr 1e-4 --lambdas 0.0004 0.05 --seed 12 --out runs/r12/stage1 \
		--resume --init runs/gpu/weights.pt
	$(BIN)/rdc train stage2 --iterations 9000 --lr 1.5e-4 --seed 12 --out runs/r12/stage2 --resume \
		--init runs/r12/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/r12/stage1 runs/r12/stage2 -o runs/r12/weights.pt \
		--earlier runs/gpu/weights.json --command "make train train-gpu train-r12"

# Then both stages once more on two CPU cores from those weights, on 256-px crops in batches of 4 (twice the
# pixels per iteration of 8 × 128 px; round 13, no device; 86 minutes), exported as intermediate weights.
train-r13:
	$(call cpu_round_256,13,runs/r12/weights.pt,runs/r13/weights.pt,runs/r12/weights.json,train-r13)

# Then the same once more from those weights (round 14, no device; 95 minutes), exported as intermediate
# weights.
train-r14:
	$(call cpu_round_256,14,runs/r13/weights.pt,runs/r14/weights.pt,runs/r13/weights.json,train-r13 train-r14)

# Then the same once more again (round 15, no device; 98 minutes).
train-r15:
	$(call cpu_round_256,15,runs/r14/weights.pt,runs/r15/weights.pt,runs/r14/weights.json,train-r13 train-r14 train-r15)

# And once more (round 16, no device; 90 minutes).
train-r16:
	$(call cpu_round_256,16,runs/r15/weights.pt,runs/r16/weights.pt,runs/r15/weights.json,train-r13 train-r14 train-r15 train-r16)

# And once more (round 17, no device; 96 minutes).
train-r17:
	$(call cpu_round_256,17,runs/r16/weights.pt,runs/r17/weights.pt,runs/r16/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17)

# And once more (round 18, no device; 88 minutes).
train-r18:
	$(call cpu_round_256,18,runs/r17/weights.pt,runs/r18/weights.pt,runs/r17/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18)

# And once more (round 19, no device; 87 minutes).
train-r19:
	$(call cpu_round_256,19,runs/r18/weights.pt,runs/r19/weights.pt,runs/r18/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19)

# And once more (round 20, no device; 83 minutes).
train-r20:
	$(call cpu_round_256,20,runs/r19/weights.pt,runs/r20/weights.pt,runs/r19/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20)

# And once more (round 21, no device; 72 minutes).
train-r21:
	$(call cpu_round_256,21,runs/r20/weights.pt,runs/r21/weights.pt,runs/r20/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21)

# And once more (round 22, no device; 79 minutes).
train-r22:
	$(call cpu_round_256,22,runs/r21/weights.pt,runs/r22/weights.pt,runs/r21/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21 train-r22)

# And once more (round 23, no device; 81 minutes).
train-r23:
	$(call cpu_round_256,23,runs/r22/weights.pt,runs/r23/weights.pt,runs/r22/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21 train-r22 train-r23)

# And once more (round 24, no device; 88 minutes).
train-r24:
	$(call cpu_round_256,24,runs/r23/weights.pt,runs/r24/weights.pt,runs/r23/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21 train-r22 train-r23 train-r24)

# And once more (round 25, no device; 78 minutes), exported as the weights shipped until round 28 (fd002e28…;
# also `git show a449bda:rdccodec/weights/default.pt`), from which the A/B rounds above start. The card records
# both runs and, through runs/r24/weights.json, every run before them.
train-r25:
	$(call cpu_round_256,25,runs/r24/weights.pt,runs/r25/weights.pt,runs/r24/weights.json,train-r13 train-r14 train-r15 train-r16 train-r17 train-r18 train-r19 train-r20 train-r21 train-r22 train-r23 train-r24 train-r25)

# Round 28's spatial arm, the weights shipped until round 33 (e8180f94…; also `git show
# 5def148:rdccodec/weights/default.pt`): stage I of round 25's recipe with the spatial cognition term and a
# weight average (4000 iterations), stage II on that average (3000, EMA), the average exported (runs/ folder
# names as in ab-r27-stage1 and ab-r28, which ran it beside its control). One core each there: 7131 s and 4974 s.
train-r28:
	$(BIN)/rdc train stage1 --iterations 4000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 --seed 27 \
		--threads 1 --ema 0.999 --spatial-cognition --out runs/r27-spatial/stage1 --resume --init runs/r25/weights.pt
	$(BIN)/rdc train stage2 --iterations 3000 --batch 4 --crop 256 --lr 1.5e-4 --seed 28 --threads 1 --ema 0.999 \
		--out runs/r28-spatial/stage2 --resume --init runs/r27-spatial/stage1/average.pt
	$(BIN)/rdc train export runs/r27-spatial/stage1 runs/r28-spatial/stage2 -o runs/r28-spatial/weights.pt --average \
		--earlier runs/r25/weights.json --command "make train-r28"

# Round 33, the weights shipped until round 34 (49e1ba2f…; also `git show ac2d276:rdccodec/weights/default.pt`):
# round 28's recipe with the checkerboard context on the primary latent, trained jointly, from round 25's
# weights; the average exported. Two threads: 2 122 s and 1 196 s.
train-r33: r33-runs
	$(BIN)/rdc train export runs/r33-spatial-checkerboard/stage1 runs/r33-spatial-checkerboard/stage2 \
		-o runs/r33-spatial-checkerboard/weights.pt --average --earlier runs/r25/weights.json --command "make train-r33"

# Round 34, shipped: round 33's recipe once more from round 33's weights, fresh seeds (ab-r34's runs, which
# started from the same weights taken from git). Two threads, at low priority beside other work: stage I
# 4 000 iterations in 10 061 s (the first 1 200 took 8 221 of them beside evaluations), stage II 3 000 in 1 362 s.
train-r34: train-r33
	$(call r34_runs,runs/r33-spatial-checkerboard/weights.pt)
	$(BIN)/rdc train export runs/r34-continued/stage1 runs/r34-continued/stage2 -o rdccodec/weights/default.pt \
		--average --earlier runs/r33-spatial-checkerboard/weights.json --command "make train-shipped"

# One CPU round on 256-px crops: $(1) the seed and run folder number, $(2) the weights it continues, $(3) the
# exported weights, $(4) the card of the weights it continues, $(5) the make targets of the rounds so far.
define cpu_round_256
	$(BIN)/rdc train stage1 --iterations 5000 --batch 4 --crop 256 --lr 1e-4 --lambdas 0.0004 0.05 --seed $(1) \
		--out runs/r$(1)/stage1 --resume --init $(2)
	$(BIN)/rdc train stage2 --iterations 6000 --batch 4 --crop 256 --lr 1.5e-4 --seed $(1) --out runs/r$(1)/stage2 \
		--resume --init runs/r$(1)/stage1/checkpoint.pt
	$(BIN)/rdc train export runs/r$(1)/stage1 runs/r$(1)/stage2 -o $(3) \
		--earlier $(4) --command "make train train-gpu train-r12 $(5)"
endef

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

.PHONY: bench
bench:
	$(BIN)/python -m rdccodec.evaluate.bench
