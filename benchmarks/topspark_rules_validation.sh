#!/usr/bin/env bash
# Re-derive TopSpark's enhancement-rule *form* (which knobs, which exponents) on VALIDATION images
# (issue 25): the greedy sensitivity analysis of benchmarks/timestep_reproduce.sh steps 1-2, with the
# same candidates, the same derivation rule (rules_from_sensitivity / inference_rules_from_sensitivity)
# and the same scale (1,000 training images, N = 100, 50 ms against 350 ms), but
#   - trained on the protocol's TRAIN split and scored on 1,000 VALIDATION images cut from it
#     (the test split is never read: sensitivity runs evaluate on validation only),
#   - seeds 0, 1, 2 (the protocol's three) instead of 0, 1.
# Written before any run.  Usage: DATA_DIR=<MNIST pool folder> benchmarks/topspark_rules_validation.sh
# Results: benchmarks/results/topspark_rules_{round1,round2[,round3],infer}.json (round 3 only when
# round 2 added a knob: a round that adds none ends the greedy selection)
set -euo pipefail
: "${DATA_DIR:?set DATA_DIR to the MNIST pool folder (python -m brian_snn.data.pool DIR builds it)}"
BS=${BS:-.venv/bin/brian-snn}
OUT=${OUT:-out/topspark_rules_val}
R=benchmarks/results
DATA=(--dataset mnist --data-dir "$DATA_DIR" --no-download --train-samples 2000 --val 1000 --split-seed 0)
COMMON=(--sensitivity-window 50 --windows 350,50 --seed 0,1,2 --neurons 100 "${DATA[@]}")
RUNTIME_KNOBS=intensity,threshold,theta_plus,eta,norm,inhibition,min_spikes
run() { nice -n 10 "$@"; }

# round 1: every knob alone, exponents -0.5, 0.5, 1 and the original analysis's refinements
[ -f $R/topspark_rules_round1.json ] || {
  run $BS timestep --sensitivity "${COMMON[@]}" --refine threshold=-0.25/-0.1/0.1 \
      --refine theta_plus=0.25/0.75 --refine min_spikes=-0.5/-1 --out $OUT/round1 --force
  cp $OUT/round1/sensitivity.json $R/topspark_rules_round1.json; }
# rounds 2 and 3: the run-time knobs again, on top of the rules derived so far
[ -f $R/topspark_rules_round2.json ] || {
  run $BS timestep --sensitivity --on-top --enhance from:$R/topspark_rules_round1.json --knobs $RUNTIME_KNOBS \
      --alphas=-0.25,0.25,0.5 "${COMMON[@]}" --out $OUT/round2 --force
  cp $OUT/round2/sensitivity.json $R/topspark_rules_round2.json; }
R12=$R/topspark_rules_round1.json+$R/topspark_rules_round2.json
# a round that adds no knob ends the greedy selection: the next round would repeat it exactly
converged() { .venv/bin/python -c "import json,sys; from brian_snn.experiments.timestep import derived_rules as d
a, b = (d(json.load(open(f))) for f in sys.argv[1:]); sys.exit(0 if a == b else 1)" "$@"; }
RULES=$R12
if ! converged $R/topspark_rules_round1.json $R/topspark_rules_round2.json; then
  [ -f $R/topspark_rules_round3.json ] || {
    run $BS timestep --sensitivity --on-top --enhance from:$R12 --knobs $RUNTIME_KNOBS \
        --alphas=-0.25,0.25,0.5 "${COMMON[@]}" --out $OUT/round3 --force
    cp $OUT/round3/sensitivity.json $R/topspark_rules_round3.json; }
  RULES=$R12+$R/topspark_rules_round3.json
fi
# the inference knobs on the networks trained with the training rules
[ -f $R/topspark_rules_infer.json ] || {
  run $BS timestep --sensitivity infer --enhance from:$RULES "${COMMON[@]}" --out $OUT/infer --force
  cp $OUT/infer/inference_sensitivity.json $R/topspark_rules_infer.json; }
