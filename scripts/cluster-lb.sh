#!/usr/bin/env bash
# The load balancer of `make cluster` and of the cluster tests: renders docker/nginx/exchange.conf.template
# (the file the compose setup's nginx uses) for local processes, then runs Debian's nginx in the
# foreground until it is stopped (TERM: at once; QUIT: after the open requests).
#   scripts/cluster-lb.sh DIR LISTEN API_1 API_2
# DIR holds the rendered configuration, nginx's temporary files and its access log; LISTEN is host:port,
# API_1 and API_2 the API instances' host:port.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 4 ] || { echo "usage: $0 DIR LISTEN API_1 API_2" >&2; exit 2; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "nginx is missing; run scripts/prerequisites.sh (it installs Debian's nginx)." >&2; exit 1; }

dir=$(realpath -m "$1")
mkdir -p "$dir/temp" "$dir/logs"
# nginx's workers run as an unprivileged user when the master is root: they write request bodies here.
chmod 0777 "$dir/temp"
sed -e "s|\${LB_LISTEN}|$2|g" -e "s|\${EXCHANGE_API_1}|$3|g" -e "s|\${EXCHANGE_API_2}|$4|g" \
  "$root/docker/nginx/exchange.conf.template" >"$dir/exchange.conf"
cat >"$dir/nginx.conf" <<CONF
# Rendered by scripts/cluster-lb.sh: the nginx image's own main configuration, reduced to what runs here.
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log stderr warn;
events {
    worker_connections 1024;
}
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/temp/client_body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    include $dir/exchange.conf;
}
CONF
exec "$nginx_bin" -e stderr -p "$dir" -c "$dir/nginx.conf"
