#!/usr/bin/env bash
# Set-up: a virtual environment in .venv with brian-snn, hwmodel and their pinned dependencies.
# Usage: ./setup.sh            (PYTHON=python3.11 ./setup.sh to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then echo "setup: $PY not found (set PYTHON=...)" >&2; exit 1; fi
if ! command -v "${CXX:-g++}" >/dev/null && ! command -v c++ >/dev/null; then
  echo "setup: no C++ compiler found (g++/c++): the cpp backend needs one (Debian/Ubuntu: apt install g++)." >&2
  echo "setup: continuing; only '--backend runtime' will work until a compiler is installed." >&2
fi
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,dask,cuda]"
.venv/bin/brian-snn doctor
echo "setup: done. Try: .venv/bin/brian-snn train --plot fields.png"
