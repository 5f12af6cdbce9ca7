#!/usr/bin/env bash
# The main job. For now: restore, build Release and run the engine benchmark.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build ForgetGate.Lab.sln -c Release
dotnet run -c Release --no-build --project src/ForgetGate.Lab.Cli -- info
