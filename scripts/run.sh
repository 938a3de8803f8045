#!/usr/bin/env bash
# `make run`: starts the system on its default local addresses, prints where to look, and stops
# everything it started on Ctrl-C. Addresses can be changed through the environment below.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prerequisites.sh

SIMULATOR_URL=${SIMULATOR_URL:-http://127.0.0.1:5090}
mkdir -p .data/logs

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  exit 0
}
trap stop INT TERM EXIT

wait_for() { # url name log
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "$2 did not start; see $3" >&2
  tail -n 30 "$3" >&2
  exit 1
}

echo "Building..."
dotnet build Exchange.sln -c Release -nologo -v quiet

# The simulator, with AutoTap on so scripted logins (login_hint) complete at once.
Urls="$SIMULATOR_URL" Simulator__PublicUrl="$SIMULATOR_URL" Simulator__AutoTap=true \
  dotnet src/VivoKey.Simulator/bin/Release/net10.0/VivoKey.Simulator.dll --contentRoot src/VivoKey.Simulator >.data/logs/simulator.log 2>&1 &
pids+=($!)
wait_for "$SIMULATOR_URL/health" "The VivoKey simulator" .data/logs/simulator.log

cat <<MSG

  VivoKey simulator   $SIMULATOR_URL
    discovery         $SIMULATOR_URL/openid/.well-known/openid-configuration
    member's phone    $SIMULATOR_URL/phone?member=vk-demo-trader
    callbacks sent    $SIMULATOR_URL/simulator/callbacks
  demo client         exchange-dev / dev-only-exchange-secret (development only)
  demo members        vk-demo-trader (dana@example.test), vk-demo-receiver (rafael@example.test)
  logs                .data/logs/

  Walk-through: README.md, "Try the simulator by hand". Ctrl-C stops everything.

MSG
wait
