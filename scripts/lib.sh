# Sourced by the other scripts: where the tools are, and how to run PostgreSQL's programs.
# Paths are relative to the repository root, where every script runs.

# The unprivileged user PostgreSQL runs as when we are root: initdb and postgres refuse to run as root.
PG_OS_USER=exchange-pg

# The directory holding initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/*/bin.
# Prints nothing and fails when there is none.
find_pg_bin() {
  local initdb dir
  if initdb=$(command -v initdb) && command -v pg_ctl >/dev/null; then
    # /usr/local/bin/initdb may be a link; the real directory also holds postgres, psql and friends.
    dir=$(dirname "$(readlink -f "$initdb")")
    [ -x "$dir/pg_ctl" ] || dir=$(dirname "$initdb")
    echo "$dir"
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

# The anvil installed by scripts/prerequisites.sh.
anvil_bin() {
  echo .tools/anvil/node_modules/.bin/anvil
}

# Creates the unprivileged PostgreSQL user if it is missing (root only). Quiet when it exists.
ensure_pg_os_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER" 2>/dev/null ||
    id -u "$PG_OS_USER" >/dev/null 2>&1 # another process may have just created it
}

# Runs a PostgreSQL program as the unprivileged user when we are root, directly otherwise.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then
    ensure_pg_os_user
    # From /: the user may not reach the current directory (a checkout under /root); every path given is absolute.
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}
