#!/usr/bin/env bash
# The main job. On a fresh Debian machine (root or sudo):
#   ./run-all.sh          build Release, make sure Fashion-MNIST is present, run experiments/quick.yaml and
#                         experiments/quick-drift.yaml through the queue and a local worker, write their reports.
#   ./run-all.sh --full   the same for the paper-scale specs (hours on 2 cores).
# Idempotent: runs already finished in the same sweep are reused, so a second call only re-renders the reports.
set -euo pipefail
cd "$(dirname "$0")"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if ! command -v dotnet >/dev/null; then
  echo "run-all: the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH." >&2
  exit 1
fi

echo "== build (Release)"
dotnet build ForgetGate.Lab.sln -c Release -nologo -v quiet
forgetgate=(dotnet src/ForgetGate.Lab.Cli/bin/Release/net10.0/forgetgate.dll)

echo "== dataset"
if ! "${forgetgate[@]}" data fetch fashion-mnist; then
  echo "run-all: download failed; installing Debian's dataset-fashion-mnist instead"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist
  "${forgetgate[@]}" data verify fashion-mnist
fi

specs=(experiments/quick.yaml experiments/quick-drift.yaml)
if [ "${1:-}" = "--full" ]; then
  specs=(experiments/permuted-fmnist.yaml experiments/split-fmnist.yaml experiments/strategies.yaml
         experiments/baselines.yaml experiments/cells-fmnist.yaml experiments/pixels-fmnist.yaml
         experiments/drift-abrupt.yaml experiments/drift-recurring.yaml)
fi

for spec in "${specs[@]}"; do
  echo "== $spec"
  "${forgetgate[@]}" run "$spec"
done

echo
echo "Reports:"
for spec in "${specs[@]}"; do
  echo "  results/$(basename "$spec" .yaml)/report.html"
done
