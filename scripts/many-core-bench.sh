#!/usr/bin/env bash
# Thread scaling of one run on a many-core machine (issue 17): `forgetgate bench` at 1, 2, 4, 8, 16 threads
# (and the machine's core count, if larger), for the evaluation batch and two training shapes.
#
#   scripts/many-core-bench.sh publish            # here (needs the .NET 10 SDK): self-contained build → artifacts/many-core.tar.gz
#   tar xzf many-core.tar.gz && ./many-core/many-core-bench.sh run > scaling.txt    # there (needs nothing installed)
#
# Each line is one bench run (--rounds 3, each figure the median round). Compare threads within one shape: the
# engine must never get slower with more threads (a phase uses only the workers its work pays for).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-run}" in
  publish)
    repo="$(cd "$here/.." && pwd)"
    out="$repo/artifacts/many-core"
    rm -rf "$out" && mkdir -p "$out"
    dotnet publish "$repo/src/ForgetGate.Lab.Cli" -c Release -r linux-x64 --self-contained -o "$out/app" >/dev/null
    cp "$0" "$out/many-core-bench.sh"
    tar czf "$repo/artifacts/many-core.tar.gz" -C "$repo/artifacts" many-core
    echo "wrote $repo/artifacts/many-core.tar.gz"
    ;;
  run)
    export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
    fg="$here/app/forgetgate"
    cores="$(nproc)"
    echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) — $cores logical CPUs; $(lscpu 2>/dev/null | grep -E '^Thread\(s\) per core' | xargs)"
    threads="1 2 4 8 16"
    [ "$cores" -gt 16 ] && threads="$threads $cores"
    for shape in "--hidden 128 --batch 128" "--hidden 256 --batch 1024" "--hidden 64 --batch 128"; do
      for t in $threads; do
        echo "## $shape --threads $t"
        "$fg" bench --variant lstm $shape --threads "$t" --seconds 1 --rounds 3 --json
      done
    done
    ;;
  *) echo "usage: $0 publish|run" >&2; exit 2 ;;
esac
