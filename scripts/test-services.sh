#!/usr/bin/env bash
# Throwaway PostgreSQL 15 and Redis 7 for the tests that need what production runs
# (several backend replicas over one database and one cache):
#
#   eval "$(scripts/test-services.sh start DIR)"   start both under DIR (a new, empty or
#                                                   absent directory); print the exports
#   scripts/test-services.sh stop DIR               stop both and delete DIR
#   scripts/test-services.sh run COMMAND...         start, run COMMAND with the exports,
#                                                   stop; COMMAND's exit status
#
# Both listen on 127.0.0.1 only, on free ports, with random passwords, and keep nothing
# (PostgreSQL without fsync, Redis without snapshots or append-only file). The exports
# are the variables @backstage/backend-test-utils reads:
#   BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING   (TestDatabases, POSTGRES_15)
#   BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING          (TestCaches, REDIS_7)
# Needs Debian's postgresql-15 (or PG_BIN=<its bin directory>) and redis-server 7:
# `apt-get install postgresql redis-server` on Debian 12. PostgreSQL refuses to run as
# root, so as root its server runs as the `postgres` user the package creates.
set -euo pipefail

log() { echo "test-services: $*" >&2; }
die() {
  log "$*"
  exit 1
}

pg_bin() {
  local bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
  [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] ||
    die "no PostgreSQL 15 in $bin (apt-get install postgresql-15, or set PG_BIN)"
  local version
  version="$("$bin/postgres" --version)"
  [[ "$version" =~ \)\ 15\. ]] || die "$bin is not PostgreSQL 15: $version"
  echo "$bin"
}

# Runs a command as the user the PostgreSQL server runs as.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

# Two free TCP ports on 127.0.0.1 (held together, so they differ): with the machine's
# Node, else the project's (.tools/node, which ./portal brings).
free_ports() {
  local node
  node="$(command -v node || echo "$(dirname "$0")/../.tools/node/bin/node")"
  "$node" -e '
    const net = require("node:net");
    const servers = [net.createServer(), net.createServer()];
    let n = 0;
    for (const s of servers)
      s.listen(0, "127.0.0.1", () => {
        if (++n < 2) return;
        console.log(servers.map(x => x.address().port).join(" "));
        for (const x of servers) x.close();
      });
  '
}

secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

start() {
  local dir="$1"
  local bin
  bin="$(pg_bin)"
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ||
    die "no redis-server (apt-get install redis-server)"
  [[ "$(redis-server --version)" =~ v=7\. ]] ||
    die "redis-server is not Redis 7: $(redis-server --version)"
  pg_user="$(id -un)"
  if [ "$(id -u)" = 0 ]; then
    pg_user=postgres
    id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL as"
  fi

  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  # The server's user must reach its data directory inside.
  chmod 0711 "$dir"
  local ports pg_port redis_port pg_password redis_password
  ports="$(free_ports)"
  pg_port="${ports% *}"
  redis_port="${ports#* }"
  pg_password="$(secret)"
  redis_password="$(secret)"

  mkdir -p "$dir/pg" "$dir/redis"
  printf '%s\n' "$pg_password" >"$dir/pg/password"
  [ "$(id -u)" = 0 ] && chown -R "$pg_user" "$dir/pg"
  as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres --pwfile="$dir/pg/password" \
    --auth=scram-sha-256 --no-locale -E UTF8 --no-sync >"$dir/pg/initdb.log" 2>&1 ||
    die "initdb failed: $(cat "$dir/pg/initdb.log")"
  rm -f "$dir/pg/password"
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 120 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null ||
    die "PostgreSQL did not start: $(tail -20 "$dir/pg/server.log")"
  echo "$pg_user" >"$dir/pg/user"
  echo "$bin" >"$dir/pg/bin"

  redis-server --bind 127.0.0.1 --port "$redis_port" --requirepass "$redis_password" \
    --save '' --appendonly no --dir "$dir/redis" --daemonize yes \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" ||
    die "Redis did not start: $(tail -20 "$dir/redis/redis.log")"
  echo "$redis_port $redis_password" >"$dir/redis/connection"
  local deadline=$((SECONDS + 120))
  until [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" --no-auth-warning -a "$redis_password" ping 2>/dev/null)" = PONG ]; do
    [ $SECONDS -lt $deadline ] || die "Redis did not answer: $(tail -20 "$dir/redis/redis.log")"
    sleep 0.2
  done

  log "PostgreSQL $("$bin/postgres" --version | sed 's/.*) //') on 127.0.0.1:$pg_port, Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$redis_port, under $dir"
  echo "export BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING=postgresql://postgres:$pg_password@127.0.0.1:$pg_port"
  echo "export BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING=redis://default:$redis_password@127.0.0.1:$redis_port"
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/redis/connection" ]; then
    local port password
    read -r port password <"$dir/redis/connection"
    redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$password" shutdown nosave >/dev/null 2>&1 ||
      { [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null; } || true
  fi
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    pg_user="$(cat "$dir/pg/user")"
    as_pg "$(cat "$dir/pg/bin")/pg_ctl" -D "$dir/pg/data" -m fast -w -t 60 stop >/dev/null ||
      log "PostgreSQL under $dir did not stop: $(tail -5 "$dir/pg/server.log")"
  fi
  rm -rf "$dir"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start)
    [ $# -eq 1 ] || die "usage: $0 start DIR"
    start "$1"
    ;;
  stop)
    [ $# -eq 1 ] || die "usage: $0 stop DIR"
    stop "$1"
    ;;
  run)
    [ $# -gt 0 ] || die "usage: $0 run COMMAND..."
    services_dir="$(mktemp -d "${TMPDIR:-/tmp}/gitops-test-services.XXXXXX")"
    trap 'stop "$services_dir"' EXIT
    exports="$(start "$services_dir")"
    eval "$exports"
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
  *)
    die "usage: $0 start DIR | stop DIR | run COMMAND..."
    ;;
esac
