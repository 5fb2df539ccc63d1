#!/usr/bin/env bash
# The first-GPU check (issue 16): every CUDA-only path once, the compile counters, and the GPU benchmarks, in
# one run of under 10 minutes on one H100/H200. Run from the repository root on the GPU machine:
#
#   bash tools/gpu_check.sh                 # writes its logs and result files under $OUT (or gpu-check/)
#
# It needs the CIFAR-10 JPEG copy: ../shared/datasets/cifar10-jpeg, or the packed cifar10-jpeg.tar.xz carried
# into the checkout (unpacked to /tmp here), and cnnzoo importable (PYTHONPATH=src is set below). Wheels of
# missing pure-Python packages (airbench for the time-to-accuracy yardstick) may travel in .whl/.
# Each step has its own time limit and a failing step does not stop the others: the summary says which failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 CNNZOO_CACHE=/tmp/cnnzoo-cache
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
DATA=../shared/datasets/cifar10-jpeg
if [ ! -d "$DATA" ]; then
    tarball=$(ls cifar10-jpeg.tar.xz .data/cifar10-jpeg.tar.xz 2>/dev/null | head -1)
    [ -n "$tarball" ] && tar -xJf "$tarball" -C /tmp && DATA=/tmp/cifar10-jpeg
fi
RUNS=/tmp/cnnzoo-gpu-runs
failed=()

step() {  # step NAME SECONDS COMMAND...: run it with a limit, log it, remember a failure
    local name=$1 limit=$2; shift 2
    if [ -n "${GPU_CHECK_DRY_RUN:-}" ]; then printf '%s\0' "$@"; echo; return; fi  # the tests read the commands
    echo "=== $name: $*" | tee -a "$OUT/gpu_check.log"
    local start=$SECONDS
    timeout "$limit" "$@" >>"$OUT/gpu_check.log" 2>&1
    local status=$?
    echo "=== $name: exit $status after $((SECONDS - start)) s" | tee -a "$OUT/gpu_check.log"
    [ $status -eq 0 ] || failed+=("$name")
}

if [ -z "${GPU_CHECK_DRY_RUN:-}" ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/gpu.txt" 2>&1
    python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())" >>"$OUT/gpu.txt" 2>&1
fi

# --- every CUDA path once: 10,000 images, 2 epochs, the counters of each run printed after it ---
TRAIN=(--model resnet20 --data cifar10 --data-dir "$DATA" --train-limit 10000 --epochs 2 --device cuda
       --runs-root "$RUNS" --format json)
step graphs-bf16-cl-ema 240 python3 tools/gpu_counters.py train "${TRAIN[@]}" --compile reduce-overhead --precision bf16 \
    --channels-last --ema --loader device --tta flip-translate
step fp16-gradscaler 120 python3 tools/gpu_counters.py train "${TRAIN[@]}" --precision fp16 --compile default
step auto-precision 120 python3 tools/gpu_counters.py train "${TRAIN[@]}" --checkpoint-every 2
run=$(ls -dt "$RUNS"/resnet20-* 2>/dev/null | head -1)
[ -n "${GPU_CHECK_DRY_RUN:-}" ] && run="$RUNS/resnet20-dry-run"
if [ -n "$run" ]; then
    step onnx-export 120 python3 -m cnnzoo export "$run" --output "$OUT/resnet20.onnx" --dynamic-batch
    step onnx-predict-cuda 60 python3 -m cnnzoo predict "$OUT/resnet20.onnx" "$DATA/test/cat/0000.jpg" --device cuda
fi

# --- the benchmarks: throughput, then time to accuracy against airbench94 ---
step bench-throughput 240 python3 -m cnnzoo bench throughput --device cuda --compile reduce-overhead \
    --model resnet20 --model resnet18 --out "$OUT"
step bench-time-to-accuracy 300 python3 -m cnnzoo bench time-to-accuracy --device cuda --compile reduce-overhead \
    --data-dir "$DATA" --runs 2 --out "$OUT"

[ -n "${GPU_CHECK_DRY_RUN:-}" ] && exit 0
echo "failed steps: ${failed[*]:-none}" | tee -a "$OUT/gpu_check.log"
[ ${#failed[@]} -eq 0 ]
