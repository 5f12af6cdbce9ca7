#!/usr/bin/env bash
# The GPU engine's benchmark on a GPU machine (DESIGN.md §13, issue 19), in one run of under ~6 minutes:
#   nvidia-smi; the accelerators ILGPU sees; an on-device self-check (each variant vs the managed engine at
#   H=128 B=128 T=28, and a run alone vs the same run in a batch of 4, bit for bit); the bench at H=128 T=28 B=128
#   for 1 run and 64 batched runs; PyTorch nn.LSTM (cuDNN) training on the same GPU as the anchor; then, while
#   time remains, a 64-run sweep's wall time batched vs one at a time (through the engine seam, as worker --gpu
#   trains it, final parameters checked bit for bit), scaling over the number of runs and the other variants.
# Needs only the NVIDIA driver and python3 with torch (for the anchor): the bench is a self-contained .NET publish.
#
#   scripts/build-gpu-bench.sh                      # here: builds artifacts/forgetgate-gpu-bench-linux-x64.tar.xz
#   bash scripts/gpu-bench.sh [ARTIFACT.tar.xz|DIR]  # there (default: that artifact)
#   GPU_BENCH_QUICK=1 bash scripts/gpu-bench.sh      # tiny shapes on ILGPU's CPU accelerator: checks the script here
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
art=${1:-$here/../artifacts/forgetgate-gpu-bench-linux-x64.tar.xz}
start=$(date +%s)
if [ -d "$art" ]; then
  dir=$art
else
  [ -f "$art" ] || { echo "gpu-bench: no build at $art; run scripts/build-gpu-bench.sh first"; exit 2; }
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  tar -C "$work" -xJf "$art" || { echo "gpu-bench: cannot unpack $art"; exit 2; }
  dir=$work/forgetgate-gpu-bench
fi
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bench=$dir/forgetgate-gpu-bench
python=${PYTHON:-python3}
elapsed() { echo $(( $(date +%s) - start )); }
step() { echo; echo "=== $* (t=$(elapsed)s, $(date -u +%H:%M:%S) UTC)"; }
left() { [ "$(elapsed)" -lt "$1" ]; }   # true while fewer than $1 seconds have passed

if [ "${GPU_BENCH_QUICK:-0}" = 1 ]; then
  dev=cpu; shape=(--hidden 16 --batch 4 --steps 3); runs=1,4; secs=0.2; infer=(--infer-batch 8)
  anchor=(--hidden 16 --batch 4 --seconds 0.3 --runs 4 --device cpu); scaling=2,8; checkshape=(--hidden 16 --batch 4 --steps 3)
  sweep=(--sweep 4 --sweep-steps 3)
else
  dev=cuda; shape=(--hidden 128 --batch 128 --steps 28); runs=1,64; secs=3; infer=()
  anchor=(--hidden 128 --batch 128 --seconds 3 --runs 64); scaling=8,16,32,128; checkshape=(--hidden 128 --batch 128 --steps 28)
  sweep=(--sweep 64 --sweep-steps 20)
fi

step "nvidia-smi"
timeout 20 nvidia-smi || echo "(nvidia-smi failed or is absent)"

step "accelerators and on-device self-check (${checkshape[*]})"
timeout 90 "$bench" --device "$dev" --info --check-only --variant lstm,gru,cifg,ur-lstm "${checkshape[@]}"
echo "(exit $?)"

step "GPU engine: lstm, ${shape[*]}, runs $runs (1 run, then that many trained together)"
timeout 120 "$bench" --device "$dev" --variant lstm "${shape[@]}" --runs "$runs" --seconds "$secs" "${infer[@]}"
echo "(exit $?)"

step "anchor: PyTorch nn.LSTM on the same device"
timeout 90 "$python" "$here/torch_gpu_anchor.py" "${anchor[@]}"
echo "(exit $?)"

if left 200; then
  step "sweep: ${sweep[*]} runs of lstm ${shape[*]}, one at a time vs batched (worker --gpu's path)"
  timeout 75 "$bench" --device "$dev" --variant lstm "${shape[@]}" "${sweep[@]}"
  echo "(exit $?)"
fi

if left 240; then
  step "GPU engine: lstm, scaling over runs $scaling"
  timeout 75 "$bench" --device "$dev" --variant lstm "${shape[@]}" --runs "$scaling" --seconds 2 "${infer[@]}"
  echo "(exit $?)"
fi

if left 290; then
  step "GPU engine: gru, cifg, ur-lstm, runs $runs"
  timeout 60 "$bench" --device "$dev" --variant gru,cifg,ur-lstm "${shape[@]}" --runs "$runs" --seconds 1.5 "${infer[@]}"
  echo "(exit $?)"
fi

step "done"
