#!/usr/bin/env bash
# PostgreSQL 15 and nats-server (with JetStream) from Debian's packages, for local runs and
# benchmarks of ringbus's remote consumers (`ringbus run --postgres/--nats`): both on loopback
# only, both owned by this script (their data lives under $RINGBUS_SERVICES_DIR, default
# ringbus-services in $TMPDIR or /tmp; nothing of the system's own PostgreSQL cluster is touched).
#
# The tests do not use these servers: each test process starts its own on free ports
# (crates/testkit) and calls `install` here when a program is missing.
#
# TLS: a throwaway CA and a server certificate for 127.0.0.1 and localhost are made once with
# openssl in $RINGBUS_SERVICES_DIR/tls (the CA: tls/ca.crt). PostgreSQL runs with ssl = on
# (plain connections still work); a second nats-server, TLS required, listens beside the
# plain one (nats-server 2.9 has no allow_non_tls).
#
#   scripts/services.sh install            install what is missing (PostgreSQL 15, nats-server,
#                                          openssl, and chromium for the live page's browser
#                                          test), nothing else (idempotent)
#   scripts/services.sh start              install what is missing, start both, wait until
#                                          both accept connections (idempotent)
#   scripts/services.sh stop               stop both (idempotent)
#   scripts/services.sh status             say what runs; exit 0 only if all do
#   scripts/services.sh env                print the URLs and the CA file as shell exports
#   scripts/services.sh dir                print the directory the servers' data and pids are in
#   scripts/services.sh restart-postgres [fast|immediate]
#                                          restart PostgreSQL (immediate = as in a crash)
#   scripts/services.sh kill-nats          SIGKILL the plain nats-server
#   scripts/services.sh start-nats         start the plain nats-server only
#
# Ports (fixed, not the defaults, so a system PostgreSQL or NATS on 5432/4222 does not
# interfere): PostgreSQL 127.0.0.1:55432, NATS 127.0.0.1:54222 (monitoring 127.0.0.1:58222),
# NATS over TLS 127.0.0.1:54223 (monitoring 127.0.0.1:58223). Override with RINGBUS_PG_PORT,
# RINGBUS_NATS_PORT, RINGBUS_NATS_MONITOR_PORT, RINGBUS_NATS_TLS_PORT,
# RINGBUS_NATS_TLS_MONITOR_PORT.
# The role is ringbus / ringbus (CREATEDB), its database ringbus: credentials for a
# loopback-only server, not a secret. Must run as root on a fresh machine (it installs with
# apt-get); as another user it works once the packages are there.
set -euo pipefail

DIR=${RINGBUS_SERVICES_DIR:-${TMPDIR:-/tmp}/ringbus-services}
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
NATS_TLS_PORT=${RINGBUS_NATS_TLS_PORT:-54223}
NATS_TLS_MON=${RINGBUS_NATS_TLS_MONITOR_PORT:-58223}
NATS_TLS_STORE=$DIR/nats-tls
NATS_TLS_PID=$DIR/nats-tls.pid
NATS_TLS_LOG=$DIR/nats-tls.log
TLS_DIR=$DIR/tls
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
    command -v openssl >/dev/null 2>&1 || want+=(openssl)
    # Headless Chromium: the live page's test loads the page in it (crates/live/tests/page.rs).
    command -v chromium >/dev/null 2>&1 || want+=(chromium)
    [ "${#want[@]}" = 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${want[*]}; run this script as root once to install them"
    log "installing ${want[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get may hold dpkg's lock (a package install beside the tests): wait for it.
    local wait_lock=(-o DPkg::Lock::Timeout=600)
    apt-get "${wait_lock[@]}" update -qq
    apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${want[@]}" >/dev/null
    # Where services may start (no policy-rc.d), the packages start servers of their own: the
    # system's cluster 15/main on 5432 and nats-server's unit. Neither the tests nor this script
    # use them, so what this install started is stopped again.
    if [[ " ${want[*]} " == *" postgresql-15 "* ]]; then
        pg_ctlcluster 15 main stop 2>/dev/null || true
    fi
    if [[ " ${want[*]} " == *" nats-server "* ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl stop nats-server 2>/dev/null || true
    fi
    [ -x "$PG_BIN/postgres" ] || die "postgresql-15 did not install $PG_BIN/postgres"
    command -v nats-server >/dev/null 2>&1 || die "nats-server did not install"
    command -v openssl >/dev/null 2>&1 || die "openssl did not install"
    command -v chromium >/dev/null 2>&1 || die "chromium did not install"
}

tls_init() {
    # Made once; a half-made set (an interrupted run) is made again from scratch.
    [ -s "$TLS_DIR/ca.crt" ] && [ -s "$TLS_DIR/server.crt" ] && [ -s "$TLS_DIR/server.key" ] && return 0
    log "creating a test CA and a server certificate in $TLS_DIR"
    local tmp=$DIR/tls.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=ringbus test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
    openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$tmp/server.ext"
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
        -days 3650 -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null
    chmod 644 "$tmp/ca.crt" "$tmp/server.crt"
    chmod 600 "$tmp/ca.key" "$tmp/server.key"
    rm -rf "$TLS_DIR"
    mv "$tmp" "$TLS_DIR"
    chmod 755 "$TLS_DIR"
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

pg_tls() {
    # PostgreSQL wants its key owned by its user, mode 600: copies in the data directory.
    # Also for clusters made before TLS: the settings are appended once, then reloaded.
    local changed=0 f
    for f in server.crt server.key; do
        if ! cmp -s "$TLS_DIR/$f" "$PG_DATA/ringbus-$f"; then
            install -m 600 "$TLS_DIR/$f" "$PG_DATA/ringbus-$f"
            if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DATA/ringbus-$f"; fi
            changed=1
        fi
    done
    if ! grep -q "^# ringbus services.sh tls" "$PG_DATA/postgresql.conf"; then
        cat >>"$PG_DATA/postgresql.conf" <<'EOF'
# ringbus services.sh tls
ssl = on
ssl_cert_file = 'ringbus-server.crt'
ssl_key_file = 'ringbus-server.key'
EOF
        changed=1
    fi
    if [ $changed = 1 ] && pg_running; then
        log "reloading PostgreSQL for TLS"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null 9>&-
    fi
}

pg_start() {
    pg_init
    pg_tls
    if ! pg_running; then
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" start >/dev/null 9>&- \
            || { tail -n 20 "$PG_LOG" >&2 || true; die "PostgreSQL did not start (log: $PG_LOG)"; }
    fi
    wait_for "PostgreSQL" pg_ready
    wait_for "PostgreSQL TLS" pg_ssl_on || die "PostgreSQL runs without ssl (log: $PG_LOG)"
    psql_admin <<'SQL'
SELECT 'CREATE ROLE ringbus LOGIN CREATEDB PASSWORD ''ringbus'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ringbus') \gexec
SELECT 'CREATE DATABASE ringbus OWNER ringbus'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ringbus') \gexec
SQL
}

pg_ssl_on() { [ "$(psql_admin -tA -c 'SHOW ssl' 2>/dev/null)" = on ]; }

pg_stop() {
    if pg_running; then
        log "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t "$WAIT_SECS" -m fast stop >/dev/null
    fi
}

# The nats functions take the instance's pid file (and monitoring port); default the plain one.
nats_pid() { local f=${1:-$NATS_PID}; [ -f "$f" ] && cat "$f" 2>/dev/null || true; }
nats_running() {
    local p; p=$(nats_pid "${1:-$NATS_PID}")
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nats-server ]
}
nats_ready() {
    # JetStream is ready when the monitoring endpoint's healthz answers 200.
    local status mon=${1:-$NATS_MON}
    { exec 3<>"/dev/tcp/127.0.0.1/$mon"; } 2>/dev/null || return 1
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

nats_tls_start() {
    if ! nats_running "$NATS_TLS_PID"; then
        log "starting nats-server with JetStream and TLS required on 127.0.0.1:$NATS_TLS_PORT (store $NATS_TLS_STORE)"
        mkdir -p "$NATS_TLS_STORE"
        setsid nats-server -a 127.0.0.1 -p "$NATS_TLS_PORT" -m "$NATS_TLS_MON" -js -sd "$NATS_TLS_STORE" \
            --tls --tlscert "$TLS_DIR/server.crt" --tlskey "$TLS_DIR/server.key" \
            -P "$NATS_TLS_PID" -l "$NATS_TLS_LOG" </dev/null >/dev/null 2>&1 9>&- &
        local t=0
        while [ ! -s "$NATS_TLS_PID" ] && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
    fi
    wait_for "nats-server (TLS)" nats_ready "$NATS_TLS_MON" || { tail -n 20 "$NATS_TLS_LOG" >&2 || true; exit 1; }
}

nats_kill() {
    local pidfile=${2:-$NATS_PID}
    local p; p=$(nats_pid "$pidfile")
    if nats_running "$pidfile"; then
        kill "-${1:-TERM}" "$p" 2>/dev/null || true
        local t=0
        while [ -e "/proc/$p" ] && [ $t -lt $((WAIT_SECS * 10)) ]; do sleep 0.1; t=$((t + 1)); done
        [ -e "/proc/$p" ] && die "nats-server ($p) did not stop"
    fi
    rm -f "$pidfile"
}

wait_for() {
    local what=$1 t=0
    shift
    until "$@"; do
        t=$((t + 1))
        [ $t -gt $((WAIT_SECS * 10)) ] && { log "$what not ready after ${WAIT_SECS}s"; return 1; }
        sleep 0.1
    done
}

print_env() {
    echo "export RINGBUS_POSTGRES_URL=postgres://ringbus:ringbus@127.0.0.1:$PG_PORT/ringbus"
    echo "export RINGBUS_NATS_URL=nats://127.0.0.1:$NATS_PORT"
    # PostgreSQL offers TLS, which sslmode=prefer (the default) then uses: with this CA.
    echo "export RINGBUS_POSTGRES_CA=$TLS_DIR/ca.crt"
    # NATS over TLS is the second server: --nats \$RINGBUS_NATS_TLS_URL --nats-ca \$RINGBUS_TLS_CA.
    echo "export RINGBUS_NATS_TLS_URL=tls://127.0.0.1:$NATS_TLS_PORT"
    echo "export RINGBUS_TLS_CA=$TLS_DIR/ca.crt"
}

status() {
    local rc=0
    if pg_running && pg_ready; then echo "postgresql: running on 127.0.0.1:$PG_PORT (data $PG_DATA)"
    else echo "postgresql: stopped"; rc=3; fi
    if nats_running && nats_ready; then echo "nats-server: running on 127.0.0.1:$NATS_PORT, JetStream store $NATS_STORE"
    else echo "nats-server: stopped"; rc=3; fi
    if nats_running "$NATS_TLS_PID" && nats_ready "$NATS_TLS_MON"; then
        echo "nats-server (TLS): running on 127.0.0.1:$NATS_TLS_PORT, JetStream store $NATS_TLS_STORE, CA $TLS_DIR/ca.crt"
    else echo "nats-server (TLS): stopped"; rc=3; fi
    return $rc
}

if [ "${1:-}" = install ]; then
    # Test processes may call this at the same time; it makes no directory, so the lock is
    # the script file itself.
    exec 9<"${BASH_SOURCE[0]}"
    flock -w 600 9 || die "could not lock ${BASH_SOURCE[0]}"
    install_missing
    exit 0
fi

mkdir -p "$DIR"
chmod 755 "$DIR"
# One caller at a time. The servers started below
# must not inherit fd 9, or they would hold the lock for as long as they run.
exec 9>"$DIR/.lock"
flock -w 600 9 || die "could not take $DIR/.lock"

case "${1:-}" in
start)
    install_missing
    tls_init
    pg_start
    nats_start
    nats_tls_start
    status
    ;;
stop)
    nats_kill TERM
    nats_kill TERM "$NATS_TLS_PID"
    pg_stop
    ;;
status) status ;;
env) print_env ;;
dir) echo "$DIR" ;;
restart-postgres)
    mode=${2:-fast}
    log "restarting PostgreSQL (-m $mode)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" -m "$mode" restart >/dev/null 9>&-
    wait_for "PostgreSQL" pg_ready
    ;;
kill-nats) nats_kill KILL ;;
start-nats) nats_start ;;
*)
    echo "usage: $0 install|start|stop|status|env|restart-postgres [fast|immediate]|kill-nats|start-nats" >&2
    exit 2
    ;;
esac
