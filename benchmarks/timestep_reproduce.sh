#!/usr/bin/env bash
# Reproduce the measured TopSpark numbers in docs/topspark.md (issue 5; step 4: issue 16).
# Run from the repository root.  Heavy jobs are niced: the machine is shared.
set -euo pipefail
BS=${BS:-.venv/bin/brian-snn}
run() { nice -n 10 "$@"; }

# 1. sensitivity (which knobs matter at a short window): 2 models x N=100 x 2 seeds,
#    8 knobs x 3 exponents at 50 ms; the compiled knobs (reset, tau_m) build one binary per value.
run $BS timestep --sensitivity --sensitivity-window 50 --windows 350,50 --seeds 0,1 \
    --out out/timestep_sensitivity --serial
cp out/timestep_sensitivity/sensitivity.json benchmarks/timestep_sensitivity.json
cp out/timestep_sensitivity/sensitivity.png  benchmarks/timestep_sensitivity.png

# 1b. the next greedy round: every run-time knob again, on top of round 1's rule
run $BS timestep --sensitivity --on-top --enhance from:benchmarks/timestep_sensitivity.json \
    --knobs intensity,threshold,theta_plus,eta,norm,inhibition,min_spikes --alphas=-0.25,0.25,0.5 \
    --sensitivity-window 50 --windows 350,50 --seeds 0,1 --out out/timestep_sens_round2
cp out/timestep_sens_round2/sensitivity.json benchmarks/timestep_sensitivity_round2.json
cp out/timestep_sens_round2/sensitivity.png  benchmarks/timestep_sensitivity_round2.png

# 1c. a third round on top of rounds 1 + 2
R12=benchmarks/timestep_sensitivity.json+benchmarks/timestep_sensitivity_round2.json
run $BS timestep --sensitivity --on-top --enhance from:$R12 \
    --knobs intensity,threshold,theta_plus,eta,norm,inhibition,min_spikes --alphas=-0.25,0.25,0.5 \
    --sensitivity-window 50 --windows 350,50 --seeds 0,1 --out out/timestep_sens_round3
cp out/timestep_sens_round3/sensitivity.json benchmarks/timestep_sensitivity_round3.json
cp out/timestep_sens_round3/sensitivity.png  benchmarks/timestep_sensitivity_round3.png

# 2. the inference knobs on the networks trained with the rules of rounds 1-3
#    (default rules = 1 + 1b + 1c + 2)
run $BS timestep --sensitivity infer --sensitivity-window 50 --windows 350,50 --seeds 0,1 \
    --enhance from:$R12+benchmarks/timestep_sensitivity_round3.json --out out/timestep_infer_sens
cp out/timestep_infer_sens/inference_sensitivity.json benchmarks/timestep_inference_sensitivity.json
cp out/timestep_infer_sens/inference_sensitivity.png  benchmarks/timestep_inference_sensitivity.png

# 3. the acceptance table: 2 models x N=100/200/400 x 2 seeds, embedded real-MNIST subset
#    (1,000 train / 500 test), 5 windows x 4 variants, Jetson Nano (derived per-step overhead);
#    14 min on 2 workers here
/usr/bin/time -f "wall %e s" $BS timestep --neurons 100,200,400 --seeds 0,1 --out out/timestep_acceptance \
    2>&1 | tee benchmarks/timestep_acceptance.txt
cp out/timestep_acceptance/timestep.json benchmarks/timestep_acceptance.json
cp out/timestep_acceptance/timestep.png  benchmarks/timestep_acceptance.png

# 4. under the results protocol (issue 16): 5,000 train / 1,000 validation / 2,000 test images,
#    candidates and window chosen on validation, each kept candidate tested once, 3 seeds;
#    80 min on 2 workers; the README's TopSpark section is generated from its result file
run .venv/bin/python benchmarks/topspark.py
.venv/bin/python benchmarks/report.py
