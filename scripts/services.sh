#!/usr/bin/env bash
# The servers ringbus's remote consumers talk to, for tests, benchmarks and local runs:
# PostgreSQL 15 and nats-server (with JetStream), both from Debian's packages, both on
# loopback only, both owned by this script (their data lives under $RINGBUS_SERVICES_DIR,
# default /tmp/ringbus-services; nothing of the system's own PostgreSQL cluster is touched).
#
#   scripts/services.sh start              install what is missing, start both, wait until
#                                          both accept connections (idempotent)
#   scripts/services.sh stop               stop both (idempotent)
#   scripts/services.sh status             say what runs; exit 0 only if both do
#   scripts/services.sh env                print the URLs as shell exports
#   scripts/services.sh restart-postgres [fast|immediate]
#                                          restart PostgreSQL (fault tests; immediate = crash)
#   scripts/services.sh kill-nats          SIGKILL nats-server (fault tests)
#   scripts/services.sh start-nats         start nats-server only
#
# Ports (fixed, not the defaults, so a system PostgreSQL or NATS on 5432/4222 does not
# interfere): PostgreSQL 127.0.0.1:55432, NATS 127.0.0.1:54222 (monitoring 127.0.0.1:58222).
# Override with RINGBUS_PG_PORT, RINGBUS_NATS_PORT, RINGBUS_NATS_MONITOR_PORT.
# The test role is ringbus / ringbus (CREATEDB), its database ringbus: test credentials for a
# loopback-only server, not a secret. Must run as root on a fresh machine (it installs with
# apt-get); as another user it works once the packages are there.
set -euo pipefail

DIR=${RINGBUS_SERVICES_DIR:-/tmp/ringbus-services}
PG_PORT=${RINGBUS_PG_PORT:-55432}
NATS_PORT=${RINGBUS_NATS_PORT:-54222}
NATS_MON=${RINGBUS_NATS_MONITOR_PORT:-58222}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=$DIR/pg/data
PG_SOCK=$DIR/pg
PG_LOG=$DIR/pg/server.log
NATS_STORE=$DIR/nats
NATS_PID=$DIR/nats.pid
NATS_LOG=$DIR/nats.log
WAIT_SECS=${RINGBUS_SERVICES_WAIT:-60}

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_pg() {
    # initdb and postgres refuse to run as root: run them as the postgres system user.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_missing() {
    local want=()
    [ -x "$PG_BIN/postgres" ] || want+=(postgresql-15)
    command -v nats-server >/dev/null 2>&1 || want+=(nats-server)
    [ "${#want[@]}" = 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${want[*]}; run this script as root once to install them"
    log "installing ${want[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
    [ -x "$PG_BIN/postgres" ] || die "postgresql-15 did not install $PG_BIN/postgres"
    command -v nats-server >/dev/null 2>&1 || die "nats-server did not install"
}

pg_running() { [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; }
psql_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres "$@"; }

pg_init() {
    [ -f "$PG_DATA/PG_VERSION" ] && return 0
    log "creating a PostgreSQL cluster in $PG_DATA"
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR/pg"
    chmod 700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<EOF
# ringbus services.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 256MB
max_wal_size = 2GB
EOF
}

pg_start() {
    pg_init
    if ! pg_running; then
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" start >/dev/null 9>&- \
            || { tail -n 20 "$PG_LOG" >&2 || true; die "PostgreSQL did not start (log: $PG_LOG)"; }
    fi
    wait_for "PostgreSQL" pg_ready
    psql_admin <<'SQL'
SELECT 'CREATE ROLE ringbus LOGIN CREATEDB PASSWORD ''ringbus'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ringbus') \gexec
SELECT 'CREATE DATABASE ringbus OWNER ringbus'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ringbus') \gexec
SQL
}

pg_stop() {
    if pg_running; then
        log "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t "$WAIT_SECS" -m fast stop >/dev/null
    fi
}

nats_pid() { [ -f "$NATS_PID" ] && cat "$NATS_PID" 2>/dev/null || true; }
nats_running() {
    local p; p=$(nats_pid)
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nats-server ]
}
nats_ready() {
    # JetStream is ready when the monitoring endpoint's healthz answers 200.
    local status
    { exec 3<>"/dev/tcp/127.0.0.1/$NATS_MON"; } 2>/dev/null || return 1
    printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    IFS= read -r -t 2 status <&3 || true
    exec 3<&- 3>&-
    [[ "$status" == *" 200 "* ]]
}

nats_start() {
    if ! nats_running; then
        log "starting nats-server with JetStream on 127.0.0.1:$NATS_PORT (store $NATS_STORE)"
        mkdir -p "$NATS_STORE"
        setsid nats-server -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MON" -js -sd "$NATS_STORE" \
            -P "$NATS_PID" -l "$NATS_LOG" </dev/null >/dev/null 2>&1 9>&- &
        local t=0
        while [ ! -s "$NATS_PID" ] && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
    fi
    wait_for "nats-server" nats_ready || { tail -n 20 "$NATS_LOG" >&2 || true; exit 1; }
}

nats_kill() {
    local p; p=$(nats_pid)
    if nats_running; then
        kill "-${1:-TERM}" "$p" 2>/dev/null || true
        local t=0
        while [ -e "/proc/$p" ] && [ $t -lt $((WAIT_SECS * 10)) ]; do sleep 0.1; t=$((t + 1)); done
        [ -e "/proc/$p" ] && die "nats-server ($p) did not stop"
    fi
    rm -f "$NATS_PID"
}

wait_for() {
    local what=$1 check=$2 t=0
    until "$check"; do
        t=$((t + 1))
        [ $t -gt $((WAIT_SECS * 10)) ] && { log "$what not ready after ${WAIT_SECS}s"; return 1; }
        sleep 0.1
    done
}

print_env() {
    echo "export RINGBUS_POSTGRES_URL=postgres://ringbus:ringbus@127.0.0.1:$PG_PORT/ringbus"
    echo "export RINGBUS_NATS_URL=nats://127.0.0.1:$NATS_PORT"
}

status() {
    local rc=0
    if pg_running && pg_ready; then echo "postgresql: running on 127.0.0.1:$PG_PORT (data $PG_DATA)"
    else echo "postgresql: stopped"; rc=3; fi
    if nats_running && nats_ready; then echo "nats-server: running on 127.0.0.1:$NATS_PORT, JetStream store $NATS_STORE"
    else echo "nats-server: stopped"; rc=3; fi
    return $rc
}

mkdir -p "$DIR"
chmod 755 "$DIR"
# One caller at a time (test binaries may call this concurrently). The servers started below
# must not inherit fd 9, or they would hold the lock for as long as they run.
exec 9>"$DIR/.lock"
flock -w 600 9 || die "could not take $DIR/.lock"

case "${1:-}" in
start)
    install_missing
    pg_start
    nats_start
    status
    ;;
stop)
    nats_kill TERM
    pg_stop
    ;;
status) status ;;
env) print_env ;;
restart-postgres)
    mode=${2:-fast}
    log "restarting PostgreSQL (-m $mode)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" -m "$mode" restart >/dev/null 9>&-
    wait_for "PostgreSQL" pg_ready
    ;;
kill-nats) nats_kill KILL ;;
start-nats) nats_start ;;
*)
    echo "usage: $0 start|stop|status|env|restart-postgres [fast|immediate]|kill-nats|start-nats" >&2
    exit 2
    ;;
esac
