#!/usr/bin/env bash
# `make run`: starts the system on its default local addresses, prints where to look, and stops
# everything it started on Ctrl-C (or TERM): PostgreSQL (a cluster of our own under .data/pg),
# anvil, the VivoKey simulator and the exchange. Addresses can be changed through the environment
# below; SKIP_BUILD=1 starts what is already built, SKIP_EXCHANGE=1 all but the exchange (to run
# it from an IDE instead, say).
# `make cluster` (CLUSTER=1): the production topology as local processes instead of one exchange: the
# schema migrated once, a worker-only instance (WORKER_URL), two API-only instances (API_1_URL,
# API_2_URL) and nginx in front of them on EXCHANGE_URL, the address VivoKey calls back and redirects to.
# Each exchange process also listens on a loopback management port of its own (Exchange:ManagementUrls:
# EXCHANGE_MANAGEMENT_URL, or API_1_/API_2_/WORKER_MANAGEMENT_URL under make cluster), the only place that
# serves /metrics and the detailed /health/ready; nginx routes nothing there.
set -euo pipefail
cd "$(dirname "$0")/.."

# On a terminal, the rest runs as a foreground job of its own: Ctrl-C then reaches it and its children, not
# make, so `make run` ends with this script's exit status (0) instead of make's "*** [run] Interrupt".
if [ -t 0 ] && [ -z "${RUN_SH_FOREGROUND:-}" ]; then
  set -m
  status=0
  RUN_SH_FOREGROUND=1 "$0" "$@" || status=$?
  exit "$status"
fi

scripts/prerequisites.sh
. scripts/lib.sh

PG_PORT=${PG_PORT:-5433}
pg_data_chosen=false
[ -n "${PG_DATA:-}" ] && pg_data_chosen=true
PG_DATA=${PG_DATA:-.data/pg}
ANVIL_PORT=${ANVIL_PORT:-8545}
SIMULATOR_URL=${SIMULATOR_URL:-http://127.0.0.1:5090}
EXCHANGE_URL=${EXCHANGE_URL:-http://127.0.0.1:5080}
API_1_URL=${API_1_URL:-http://127.0.0.1:5081}
API_2_URL=${API_2_URL:-http://127.0.0.1:5082}
WORKER_URL=${WORKER_URL:-http://127.0.0.1:5083}
EXCHANGE_MANAGEMENT_URL=${EXCHANGE_MANAGEMENT_URL:-http://127.0.0.1:5180}
API_1_MANAGEMENT_URL=${API_1_MANAGEMENT_URL:-http://127.0.0.1:5181}
API_2_MANAGEMENT_URL=${API_2_MANAGEMENT_URL:-http://127.0.0.1:5182}
WORKER_MANAGEMENT_URL=${WORKER_MANAGEMENT_URL:-http://127.0.0.1:5183}
cluster=false
[ "${CLUSTER:-}" = 1 ] && cluster=true
CHAIN_ID=31337
ANVIL_URL=http://127.0.0.1:$ANVIL_PORT
# The exchange runs as exchange_app, which may insert audit events but never change or delete them;
# postgres owns the schema and migrates it at start-up (the exchange creates exchange_app if missing).
PG_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=exchange;Username=exchange_app"
PG_OWNER_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=exchange;Username=postgres"
with_exchange=false
[ -f src/Exchange.Api/Exchange.Api.csproj ] && [ "${SKIP_EXCHANGE:-}" != 1 ] && with_exchange=true

mkdir -p .data/logs
logs=$PWD/.data/logs
pg_data=$(realpath -m "$PG_DATA")
pg_log=$logs/postgres.log

fail() { echo "$*" >&2; exit 1; }

pg_bin=$(find_pg_bin) || fail "PostgreSQL's initdb and pg_ctl are missing; run scripts/prerequisites.sh."
pg_ctl() { as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" "$@"; }
psql_bin=$pg_bin/psql
[ -x "$psql_bin" ] || psql_bin=psql
psql_admin() { "$psql_bin" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# --- Fail early, before starting anything, when an address is taken ------------------------------

port_of() { local hostport=${1#*://}; hostport=${hostport%%/*}; echo "${hostport##*:}"; }
host_of() { local hostport=${1#*://}; hostport=${hostport%%/*}; echo "${hostport%:*}"; }

require_free() { # host port what variable
  if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then
    echo "Cannot start $3: something already listens on $1:$2." >&2
    command -v ss >/dev/null && ss -Hltnp "sport = :$2" >&2
    fail "Stop it, or choose another address with $4=..."
  fi
}

if pg_ctl status >/dev/null 2>&1; then
  fail "The PostgreSQL cluster in $PG_DATA is already running (another make run?). Stop it with:
  $( [ "$(id -u)" -eq 0 ] && echo "runuser -u $PG_OS_USER -- ")$pg_bin/pg_ctl -D $pg_data -m fast stop"
fi
require_free 127.0.0.1 "$PG_PORT" PostgreSQL PG_PORT
require_free 127.0.0.1 "$ANVIL_PORT" anvil ANVIL_PORT
require_free "$(host_of "$SIMULATOR_URL")" "$(port_of "$SIMULATOR_URL")" "the VivoKey simulator" SIMULATOR_URL
if $with_exchange; then
  require_free "$(host_of "$EXCHANGE_URL")" "$(port_of "$EXCHANGE_URL")" "the exchange" EXCHANGE_URL
fi
if $with_exchange && ! $cluster; then
  require_free "$(host_of "$EXCHANGE_MANAGEMENT_URL")" "$(port_of "$EXCHANGE_MANAGEMENT_URL")" "the exchange's management port" EXCHANGE_MANAGEMENT_URL
fi
if $with_exchange && $cluster; then
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || fail "nginx is missing; run scripts/prerequisites.sh."
  require_free "$(host_of "$API_1_URL")" "$(port_of "$API_1_URL")" "the first API instance" API_1_URL
  require_free "$(host_of "$API_2_URL")" "$(port_of "$API_2_URL")" "the second API instance" API_2_URL
  require_free "$(host_of "$WORKER_URL")" "$(port_of "$WORKER_URL")" "the worker" WORKER_URL
  for var in API_1_MANAGEMENT_URL API_2_MANAGEMENT_URL WORKER_MANAGEMENT_URL; do
    require_free "$(host_of "${!var}")" "$(port_of "${!var}")" "a management port" "$var"
  done
fi

# --- Stop whatever we started, however we end -------------------------------------------------------

pids=() names=() pg_started=false
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if $pg_started; then pg_ctl -m fast -w stop >/dev/null || true; fi
  exit "$1"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

wait_until() { # name log pid command...: tries the command for up to 60 s, while the process (if any) lives
  local name=$1 log=$2 pid=$3
  shift 3
  for _ in $(seq 1 120); do
    "$@" >/dev/null 2>&1 && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "$name did not start; see $log" >&2
  tail -n 30 "$log" >&2
  exit 1
}

if [ "${SKIP_BUILD:-}" != 1 ]; then
  echo "Building..."
  dotnet build Exchange.sln -c Release -nologo -v quiet
fi

# --- PostgreSQL ----------------------------------------------------------------------------------------

# initdb and postgres refuse to run as root: as root, the cluster belongs to an unprivileged user.
if [ "$(id -u)" -eq 0 ]; then
  ensure_pg_os_user
  # A checkout in a home directory (mode 0700, as /root is) is out of that user's reach. Then the cluster
  # lives in /var/tmp/exchange-pg/<checkout>, with its log beside it, and .data/pg and .data/logs/postgres.log
  # link there: removing .data/pg starts afresh, as it does elsewhere.
  if ! $pg_data_chosen && ! runuser -u "$PG_OS_USER" -- test -x "$(dirname "$pg_data")" 2>/dev/null; then
    [ -e .data/pg ] && fail "PostgreSQL runs as the user $PG_OS_USER, which cannot reach $pg_data (a parent
directory is not open to other users, e.g. /root). Remove .data/pg to start afresh where it can, or set PG_DATA."
    pg_home=/var/tmp/exchange-pg
    mkdir -p "$pg_home" && chmod 755 "$pg_home"
    pg_data=$pg_home/$(basename "$PWD")-$(printf %s "$PWD" | sha256sum | cut -c1-8)
    rm -rf "$pg_data" "$pg_data.log" # .data/pg was removed: so was the cluster it named
    mkdir -p "$pg_data"
    ln -sfn "$pg_data" .data/pg
  fi
  if ! runuser -u "$PG_OS_USER" -- test -w "$logs" 2>/dev/null; then
    pg_log=$pg_data.log
    touch "$pg_log"
    ln -sfn "$pg_log" "$logs/postgres.log"
  fi
  mkdir -p "$pg_data"
  touch "$pg_log"
  [ "$(stat -c %U "$pg_data")" = "$PG_OS_USER" ] || chown -R "$PG_OS_USER:" "$pg_data"
  chown "$PG_OS_USER:" "$pg_log"
  runuser -u "$PG_OS_USER" -- test -w "$pg_data" -a -x "$pg_data" ||
    fail "PostgreSQL runs as the user $PG_OS_USER, which cannot reach $pg_data (a parent directory is
not open to other users, e.g. /root). Set PG_DATA to a directory it can reach."
fi
mkdir -p "$pg_data"
touch "$pg_log"
chmod 700 "$pg_data"
if [ ! -f "$pg_data/PG_VERSION" ]; then
  echo "Creating the PostgreSQL cluster in $pg_data..."
  as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C >>"$pg_log" 2>&1 ||
    fail "initdb failed; see $pg_log"
  # Loopback TCP only (trust needs no password there); no Unix socket, whose default directory
  # belongs to Debian's own postgres user. The port is given at each start, so PG_PORT can change.
  cat >>"$pg_data/postgresql.conf" <<'CONF'
# Added by scripts/run.sh: a local development cluster.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
CONF
fi
# Commit timestamps let the audit sealer chain events in commit order.
pg_ctl -l "$pg_log" -o "-p $PG_PORT -c track_commit_timestamp=on" -w -t 60 start >/dev/null ||
  { tail -n 30 "$logs/postgres.log" >&2; fail "PostgreSQL did not start; see .data/logs/postgres.log"; }
pg_started=true
wait_until PostgreSQL .data/logs/postgres.log "" psql_admin -c "select 1"
if [ -z "$(psql_admin -tA -c "select 1 from pg_database where datname = 'exchange'")" ]; then
  psql_admin -c "create database exchange"
fi

# --- anvil, with interval mining (ARCHITECTURE.md: concurrent traffic needs it) -------------------

# The chain is kept under .data/anvil beside the database (written every 5 s and on exit), so a
# second `make run` finds the hot wallet's earlier transactions and the nonces the database expects.
mkdir -p .data/anvil
"$(anvil_bin)" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id "$CHAIN_ID" --block-time 1 \
  --state .data/anvil --state-interval 5 >.data/logs/anvil.log 2>&1 &
pids+=($!) names+=(anvil)
wait_until anvil .data/logs/anvil.log "$!" curl -fsS -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$ANVIL_URL"

# --- The simulator, with AutoTap on so scripted logins (login_hint) complete at once -------------

Urls="$SIMULATOR_URL" Simulator__PublicUrl="$SIMULATOR_URL" Simulator__AutoTap=true \
  dotnet src/VivoKey.Simulator/bin/Release/net10.0/VivoKey.Simulator.dll --contentRoot "$PWD/src/VivoKey.Simulator" >.data/logs/simulator.log 2>&1 &
pids+=($!) names+=("The VivoKey simulator")
wait_until "The VivoKey simulator" .data/logs/simulator.log "$!" curl -fsS -o /dev/null "$SIMULATOR_URL/health"

# --- The exchange --------------------------------------------------------------------------------------

# One exchange process: NAME, URL, LOG, then settings as environment assignments (VivoKey__CallbackUrl=...).
exchange_env=(ASPNETCORE_ENVIRONMENT=Development
  ConnectionStrings__Exchange="$PG_CONNECTION"
  ConnectionStrings__ExchangeOwner="$PG_OWNER_CONNECTION"
  Ethereum__RpcUrl="$ANVIL_URL"
  VivoKey__Authority="$SIMULATOR_URL/openid"
  VivoKey__ValidationEndpoint="$SIMULATOR_URL/v1.0/validate/"
  VivoKey__CallbackUrl="$EXCHANGE_URL/vivokey/callback")
exchange_dll=src/Exchange.Api/bin/Release/net10.0/Exchange.Api.dll
# The development key's address (anvil's public account #0): what API-only instances, which hold no key, are told.
hot_wallet_address=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
start_exchange() {
  local name=$1 url=$2 log=$3
  shift 3
  env "${exchange_env[@]}" Urls="$url" "$@" dotnet "$exchange_dll" --contentRoot "$PWD/src/Exchange.Api" >"$log" 2>&1 &
  pids+=($!) names+=("$name")
  wait_until "$name" "$log" "$!" curl -fsS -o /dev/null "$url/health/live"
}

if $with_exchange && ! $cluster; then
  start_exchange "The exchange" "$EXCHANGE_URL" .data/logs/exchange.log Exchange__ManagementUrls="$EXCHANGE_MANAGEMENT_URL"
fi

if $with_exchange && $cluster; then
  # As a deployment would: the schema first, once; then instances that do not migrate.
  echo "Migrating the database..."
  env "${exchange_env[@]}" dotnet "$exchange_dll" migrate >.data/logs/migrate.log 2>&1 ||
    { tail -n 30 .data/logs/migrate.log >&2; fail "The migration failed; see .data/logs/migrate.log"; }
  start_exchange "The worker" "$WORKER_URL" .data/logs/exchange-worker.log Exchange__ManagementUrls="$WORKER_MANAGEMENT_URL" \
    Exchange__MigrateOnStartup=false Exchange__ServeApi=false Exchange__RunJobs=true
  for i in 1 2; do
    url_var=API_${i}_URL management_var=API_${i}_MANAGEMENT_URL
    start_exchange "API instance $i" "${!url_var}" ".data/logs/exchange-api-$i.log" Exchange__ManagementUrls="${!management_var}" \
      Exchange__MigrateOnStartup=false Exchange__ServeApi=true Exchange__RunJobs=false \
      Ethereum__HotWalletAddress="$hot_wallet_address" Ethereum__HotWalletPrivateKey=""
  done
  hostport() { local h=${1#*://}; echo "${h%%/*}"; }
  scripts/cluster-lb.sh .data/nginx "$(hostport "$EXCHANGE_URL")" "$(hostport "$API_1_URL")" "$(hostport "$API_2_URL")" >.data/logs/nginx.log 2>&1 &
  pids+=($!) names+=("The load balancer (nginx)")
  wait_until "The load balancer" .data/logs/nginx.log "$!" curl -fsS -o /dev/null "$EXCHANGE_URL/health/live"
fi

{
  echo
  echo "Ready. Where to look:"
  if $with_exchange; then
    echo "  exchange            $EXCHANGE_URL$($cluster && echo "  (nginx, in front of the API instances)")"
    echo "    Hangfire          $EXCHANGE_URL/hangfire"
  fi
  if $with_exchange && ! $cluster; then
    echo "    management        $EXCHANGE_MANAGEMENT_URL/metrics, /health/ready (details)"
  fi
  if $with_exchange && $cluster; then
    echo "    API instance 1    $API_1_URL   (API only; management $API_1_MANAGEMENT_URL: /metrics, /health/ready)"
    echo "    API instance 2    $API_2_URL   (API only; management $API_2_MANAGEMENT_URL)"
    echo "    worker            $WORKER_URL   (jobs only: sends challenges, signs, watches the chain; management $WORKER_MANAGEMENT_URL)"
  fi
  cat <<MSG
  VivoKey simulator   $SIMULATOR_URL
    discovery         $SIMULATOR_URL/openid/.well-known/openid-configuration
    member's phone    $SIMULATOR_URL/phone?member=vk-demo-trader
    callbacks sent    $SIMULATOR_URL/simulator/callbacks
  demo client         exchange-dev / dev-only-exchange-secret (development only)
  demo members        vk-demo-trader (dana@example.test), vk-demo-receiver (rafael@example.test)
  anvil               $ANVIL_URL (chain id $CHAIN_ID, a block every second; the chain kept in .data/anvil)
  PostgreSQL          $PG_CONNECTION (data in $pg_data)
  logs                .data/logs/

  The five-minute tour, in another terminal: scripts/quick-tour.sh (README.md, "Five minutes").
  The invariants: make check-invariants. To start afresh: stop, then rm -rf .data/pg .data/anvil.
  Ctrl-C stops everything.

MSG
}

# Until Ctrl-C, or until one of them stops by itself: then say which, and stop the rest. Under make cluster
# an exchange instance may stop alone (try `kill -TERM` on one: a graceful stop) while the rest go on.
declare -A stays_optional=()
if $cluster; then
  for i in "${!names[@]}"; do
    case ${names[$i]} in "The worker" | "API instance "*) stays_optional[${pids[$i]}]=1 ;; esac
  done
fi
while :; do
  status=0
  wait -n "${pids[@]}" || status=$?
  alive=() alive_names=() fatal=false
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      alive+=("${pids[$i]}") alive_names+=("${names[$i]}")
      continue
    fi
    echo "${names[$i]} stopped (exit code $status); see .data/logs/" >&2
    [ -n "${stays_optional[${pids[$i]}]:-}" ] || fatal=true
  done
  $fatal && exit 1
  echo "The others go on; Ctrl-C stops everything." >&2
  pids=("${alive[@]}") names=("${alive_names[@]}")
done
