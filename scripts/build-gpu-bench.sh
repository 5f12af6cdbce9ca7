#!/usr/bin/env bash
# Builds what scripts/gpu-bench.sh runs on a GPU machine that has no .NET: a self-contained linux-x64 publish of
# forgetgate-gpu-bench (tests/ForgetGate.Lab.Gpu.Bench: the GPU engine, its bench and on-device self-check), packed
# as artifacts/forgetgate-gpu-bench-linux-x64.tar.xz (artifacts/ is git-ignored). ILGPU compiles its kernels to PTX
# in-process, so only the NVIDIA driver (libcuda) is needed there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-bench
rm -rf "$out"
mkdir -p "$out"
dotnet publish tests/ForgetGate.Lab.Gpu.Bench -c Release -r linux-x64 --self-contained true \
  -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out/forgetgate-gpu-bench" >/dev/null
tar -C "$out" -cJf artifacts/forgetgate-gpu-bench-linux-x64.tar.xz forgetgate-gpu-bench
ls -l artifacts/forgetgate-gpu-bench-linux-x64.tar.xz
du -sh "$out/forgetgate-gpu-bench"
