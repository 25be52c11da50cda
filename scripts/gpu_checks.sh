#!/usr/bin/env bash
# The GPU checks in one script: brian-snn's SpikeDyn at 3 sizes on the GPU with NVML power and
# `hwmodel calibrate` on those runs (held-out error) -- the default, sized for one device call of
# <= 8 minutes; STEPS="sizes parity batched" adds cpp-vs-cuda parity and batched-copies throughput.
# Needs an NVIDIA GPU.
#
#   scripts/gpu_checks.sh [RESULTS_DIR]     # default: $OUT (the device tool's folder) or gpu_results
#   scripts/gpu_checks.sh --fetch-wheels    # on a machine WITH network: put the Python 3.12 wheels of
#                                           # brian2 2.8.0, brian2cuda 1.0a7, numpy 1.26.4 into .gpu_wheels/
#                                           # for a GPU machine without network (carry .gpu_wheels there)
#
# Python: .venv/bin/python when it has brian2 + brian2cuda, else a venv built from .gpu_wheels on top
# of the system python3 (which must have scipy, sympy, jinja2, pyparsing, h5py, matplotlib,
# nvidia-ml-py and, unless the CUDA toolkit has cuRAND, nvidia-curand).  Step sizes: see below; the
# whole script is sized for about 10 minutes on one H100 with 16 cores (unmeasured estimate).
# Results: RESULTS_DIR/summary.md, RESULTS_DIR/gpu_results.tar.gz (all JSON/MD/TOML), RESULTS_DIR/log.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${1:-}" = "--fetch-wheels" ]; then
  mkdir -p .gpu_wheels
  grep -qx '/.gpu_wheels/' .git/info/exclude 2>/dev/null || echo '/.gpu_wheels/' >> .git/info/exclude
  PIP=${PIP:-.venv/bin/pip}
  $PIP download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --no-deps -d .gpu_wheels brian2==2.8.0 numpy==1.26.4 brian2cuda==1.0a7
  ls -la .gpu_wheels
  exit 0
fi

RES=${1:-${OUT:-gpu_results}}
mkdir -p "$RES/all"
LOG="$RES/log.txt"
exec > >(tee -a "$LOG") 2>&1
say() { echo "== $(date +%T) $*"; }
fail() { echo "gpu_checks: $*"; exit 3; }

FAKE=${GPU_CHECKS_FAKE:-0}      # 1: test this script without a GPU (cpp + synthetic power; numbers mean nothing)
if [ "$FAKE" != 1 ]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this script needs an NVIDIA GPU and its driver"
  nvidia-smi -L | grep -q GPU || fail "nvidia-smi lists no GPU"
fi

PY=""
if [ -x .venv/bin/python ] && .venv/bin/python -c "import brian2, brian2cuda" 2>/dev/null; then
  PY=$ROOT/.venv/bin/python
elif ls .gpu_wheels/*.whl >/dev/null 2>&1; then
  say "building /tmp/bsnn-venv from .gpu_wheels (on top of $(command -v python3))"
  python3 -m venv --system-site-packages /tmp/bsnn-venv || fail "python3 -m venv failed"
  /tmp/bsnn-venv/bin/pip install -q --no-index --no-deps .gpu_wheels/*.whl || fail "installing .gpu_wheels failed"
  PY=/tmp/bsnn-venv/bin/python
else
  fail "no Python with brian2 2.8.0 + brian2cuda 1.0a7: run ./setup.sh (with network) or carry .gpu_wheels (see --fetch-wheels)"
fi
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
export BRIAN_SNN_MAKE_JOBS=${BRIAN_SNN_MAKE_JOBS:-$(nproc)}
export BRIAN_SNN_BUILD_DIR=${BRIAN_SNN_BUILD_DIR:-/tmp/bsnn-builds}
missing=$($PY - <<'EOF'
import importlib
import os
need = ["brian2", "brian2cuda", "numpy", "scipy", "sympy", "jinja2", "h5py", "matplotlib"]
need += [] if os.environ.get("GPU_CHECKS_FAKE") == "1" else ["pynvml"]
print(" ".join(m for m in need if importlib.util.find_spec(m) is None))
EOF
)
[ -z "$missing" ] || fail "python modules missing: $missing (nvidia-ml-py provides pynvml)"

say "environment"
{ [ "$FAKE" = 1 ] || { nvidia-smi -L; nvidia-smi --query-gpu=name,compute_cap,driver_version,power.limit --format=csv; }
  nvcc --version | tail -2
  $PY -c "import brian2, numpy, brian2cuda; print('brian2', brian2.__version__, 'numpy', numpy.__version__, 'brian2cuda', brian2cuda.__version__)"
  $PY -c "import json; from brian_snn.cuda import backend_summary; print(json.dumps(backend_summary(), indent=1))"
} | tee "$RES/all/env.txt"
if [ "$FAKE" = 1 ]; then CC=9.0; NAME="no GPU (GPU_CHECKS_FAKE=1)"; EXTRA=--fake-gpu; else
  CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')
  NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); EXTRA=""; fi
BASE=h100-sxm5      # the closest built-in target for H100/H200; calibration makes it this machine's
STATUS=0
step() {  # step NAME TIMEOUT_S ARGS...
  local name=$1 t=$2; shift 2
  say "$name (timeout ${t}s)"
  if timeout "$t" "$PY" benchmarks/gpu_checks.py "$@" --out "$RES/all" --cc "$CC" --base "$BASE" $EXTRA; then
    echo "$name: ok" >> "$RES/all/status.txt"
  else
    echo "$name: FAILED (exit $?)" >> "$RES/all/status.txt"; STATUS=1
  fi
}
: > "$RES/all/status.txt"
N=${NEURONS:-100}
STEPS=${STEPS:-sizes}
for s in $STEPS; do case $s in
  sizes)   step sizes     ${SIZES_TIMEOUT:-360} sizes   --sizes ${SIZES:-100,400,1600} --slots ${SLOTS:-20} --chunks 2
           step calibrate-sizes 60 calibrate --measurements sizes_measurements.json ;;
  parity)  step parity    ${PARITY_TIMEOUT:-230} parity  --neurons $N --train ${PARITY_TRAIN:-100} --test ${PARITY_TEST:-60} --seeds 3 --chunk ${PARITY_CHUNK:-100} ;;
  batched) step batched   ${BATCHED_TIMEOUT:-280} batched --neurons $N --copies ${COPIES:-1,8,64} --slots ${SLOTS:-20} --chunks 3
           step calibrate 60 calibrate ;;
  *) fail "unknown step $s (sizes, parity, batched)" ;;
esac; done

{ echo "# GPU checks on $NAME (compute capability $CC), $(date -u +%F)"; echo
  echo '```'; cat "$RES/all/status.txt"; echo '```'; echo
  for f in sizes.md parity.md batched_gpu.md calibration.md; do
    [ -f "$RES/all/$f" ] && { echo "## ${f%.md}"; echo; cat "$RES/all/$f"; echo; }
  done; } > "$RES/summary.md"
tar -czf "$RES/gpu_results.tar.gz" -C "$RES" all
say "done (status $STATUS): $RES/summary.md"
cat "$RES/summary.md"
exit $STATUS
