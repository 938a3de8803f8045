#!/usr/bin/env bash
# Installs what the system and its tests need and a fresh machine may lack. Safe to run again;
# prints nothing when nothing is missing, one line naming what it installed otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ANVIL_VERSION=1.7.1
installed=()
apt_updated=false
apt_install() {
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  installed+=("$@")
}

command -v make >/dev/null || apt_install make
command -v curl >/dev/null || apt_install curl
# openssl: the quick tour's fresh addresses, and the README's key-generation snippets.
command -v openssl >/dev/null || apt_install openssl
command -v npm >/dev/null || apt_install nodejs npm

# PostgreSQL server binaries (initdb, pg_ctl). We run our own throwaway clusters, so Debian's
# default cluster is not wanted: tell postgresql-common not to create it, and then there is
# nothing for its service to start.
if ! find_pg_bin >/dev/null; then
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/exchange.conf
  apt_install postgresql
fi
# psql: run.sh creates the database with it (Debian ships it apart from the server as postgresql-client).
pg_dir=$(find_pg_bin) || true
[ -x "$pg_dir/psql" ] || command -v psql >/dev/null || apt_install postgresql-client

# anvil, the local Ethereum node, into the repository's own (git-ignored) tools folder.
anvil_is_current() {
  local version
  version=$("$(anvil_bin)" --version 2>/dev/null) || return 1
  grep -qxF "anvil Version: $ANVIL_VERSION" <<<"$version"
}
if ! anvil_is_current; then
  npm install --prefix .tools/anvil --no-audit --no-fund --silent "@foundry-rs/anvil@$ANVIL_VERSION" >/dev/null
  anvil_is_current || { echo "anvil $ANVIL_VERSION did not install into .tools/anvil" >&2; exit 1; }
  installed+=("anvil $ANVIL_VERSION")
fi

# Chromium for the browser tests: Playwright drives Debian's build at /usr/bin/chromium and never
# downloads a browser of its own.
[ -x /usr/bin/chromium ] || apt_install chromium

# nginx, the load balancer of `make cluster` and of the cluster tests (scripts/cluster-lb.sh runs its own).
# Debian starts a system nginx on port 80 after installing it, where services run: not wanted here.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx
  { systemctl disable --now nginx || service nginx stop; } >/dev/null 2>&1 || true
fi

# PostgreSQL refuses to run as root; as root, the clusters run as this system user.
if [ "$(id -u)" -eq 0 ] && ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
  ensure_pg_os_user
  installed+=("system user $PG_OS_USER")
fi

if [ ${#installed[@]} -gt 0 ]; then
  printf -v list '%s, ' "${installed[@]}"
  echo "prerequisites: installed ${list%, }"
fi
