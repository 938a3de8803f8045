#!/usr/bin/env bash
# The exchange's command line against the system `make run` started, with the settings run.sh gives the exchange
# (Development, its PostgreSQL and anvil). Without them the binary reads Production's, which refuse the local
# development values (exit 78).
#   scripts/exchange-tool.sh check-invariants   each invariant held or broken; exit 0 when all hold (make check-invariants)
#   scripts/exchange-tool.sh reconcile          one reconciler pass now
#   scripts/exchange-tool.sh migrate            the schema up to date, then exit
# PG_PORT and ANVIL_PORT as for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../src/Exchange.Api"
PG_PORT=${PG_PORT:-5433}
ANVIL_PORT=${ANVIL_PORT:-8545}
dll=bin/Release/net10.0/Exchange.Api.dll
[ -f "$dll" ] || { echo "src/Exchange.Api/$dll is missing: run make build (or make run) first." >&2; exit 1; }
exec env ASPNETCORE_ENVIRONMENT=Development \
  ConnectionStrings__Exchange="Host=127.0.0.1;Port=$PG_PORT;Database=exchange;Username=exchange_app" \
  ConnectionStrings__ExchangeOwner="Host=127.0.0.1;Port=$PG_PORT;Database=exchange;Username=postgres" \
  Ethereum__RpcUrl="http://127.0.0.1:$ANVIL_PORT" \
  Logging__LogLevel__Exchange.Api.Infrastructure.ManagementPorts=Warning \
  dotnet "$dll" "$@"
