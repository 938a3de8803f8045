#!/usr/bin/env bash
# `make bench`: builds, installs gnuplot for the charts if missing, then runs tests/Exchange.Bench, which
# starts its own PostgreSQL cluster, anvil, simulator and exchange on free ports, drives them, and prints
# the table. Results go to bench-results/ (bench.json, tap-to-broadcast.png, intake.png); BENCH_OUT moves them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prerequisites.sh
configuration=${1:-Release}
if ! command -v gnuplot >/dev/null; then
  echo "Installing gnuplot (Debian's gnuplot-nox) for the charts..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null) ||
    echo "gnuplot could not be installed: the bench runs, without charts." >&2
fi
dotnet build Exchange.sln -c "$configuration" -nologo -v quiet
exec dotnet "tests/Exchange.Bench/bin/$configuration/net10.0/Exchange.Bench.dll"
