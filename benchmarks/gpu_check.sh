#!/usr/bin/env bash
# The prepared run for a lent GPU (docs/gpu.md), in one command of under ten minutes: the bench
# W1-W6 and S8 against Flax and PyTorch (and Keras where installed), in float32 and bfloat16,
# and the local-models workload (1,000 series, 3 models x 3 seeds, a model per series at once).
#
#   bash benchmarks/gpu_check.sh OUTDIR            # on the device tool: OUTDIR=$OUT
#
# Writes OUTDIR/f32/bench.{md,json,png}, OUTDIR/bf16/bench.{md,json,png} and
# OUTDIR/local/local_models.{md,json}: eight files, two folders down. Runs from the source tree
# with the machine's own Python (PYTHON, default python3) and its JAX, Flax and Optax: nothing
# is installed. The classical extra is optional (no AutoETS row without statsforecast).
# BENCH_ARGS / LOCAL_ARGS replace the sizes (a dry run on a CPU: see benchmarks/README.md).
set -uo pipefail
out=${1:?give a folder for the results}
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" XLA_PYTHON_CLIENT_PREALLOCATE=false \
    PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
bench_args=${BENCH_ARGS:---workloads W1,W2,W3,W4,W5,W6,S8 --rounds 30 --budget 10}
local_args=${LOCAL_ARGS:-}
peers=flax,torch
"$py" -c "import keras" 2>/dev/null && peers=flax,keras,torch
status=0
"$py" -c "import jax; print(jax.devices(), jax.__version__)" || exit 1
# shellcheck disable=SC2086  # the arguments are words to split
timeout 200 "$py" -m jaxseq bench $bench_args --peers "$peers" --out "$out/f32" || status=1
# shellcheck disable=SC2086
timeout 150 "$py" -m jaxseq bench $bench_args --peers "$peers" --dtype bfloat16 \
    --out "$out/bf16" || status=1
# shellcheck disable=SC2086
timeout 180 "$py" experiments/local_models.py $local_args --out "$out/local" || status=1
exit $status
