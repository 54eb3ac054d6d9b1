# The watchdog of one test process's servers (ringbus-testkit). Its standard input is the read
# end of a pipe whose write end only the test process holds, so the read below ends when that
# process ends, however it ends: returned, panicked, aborted, killed with SIGKILL. It then stops
# every server of the run directory and removes the directory.
set -u
dir=${RINGBUS_TEST_RUN_DIR:?}
# The test process put it in a process group of its own, so a Ctrl-C at the terminal does not
# reach it; a hang-up must not stop it either.
trap '' HUP INT
while read -r _; do :; done

# The processes of this run: every server, and every helper that may be starting one (pg_ctl,
# initdb, runuser), names a path inside the run directory in its command line. grep reads the
# pattern from a file descriptor, so that its own command line does not name the directory.
members() {
    grep -lsF -f <(printf '%s/\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}

# Signals every member; succeeds when there was none.
stop_round() {
    local signal_postgres=$1 pid none=0
    for pid in $(members); do
        none=1
        case $(cat "/proc/$pid/comm" 2>/dev/null) in
        # SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends with it.
        postgres) kill "-$signal_postgres" "$pid" 2>/dev/null ;;
        *) kill -KILL "$pid" 2>/dev/null ;;
        esac
    done
    return $none
}

# Until two rounds in a row find nothing (a helper may start a server just before it is
# killed); PostgreSQL gets SIGKILL after 5 s, the watchdog gives up after 30 s.
quiet=0
for round in $(seq 1 300); do
    signal=QUIT
    [ "$round" -gt 50 ] && signal=KILL
    if stop_round "$signal"; then
        quiet=$((quiet + 1))
        [ $quiet -ge 2 ] && break
    else
        quiet=0
    fi
    sleep 0.1
done
left=$(members | tr '\n' ' ')
[ -n "$left" ] && echo "ringbus-testkit watchdog: processes of $dir still run: $left" >&2

for _ in 1 2 3 4 5; do
    rm -rf -- "$dir" 2>/dev/null && break
    sleep 0.2
done
[ -e "$dir" ] && echo "ringbus-testkit watchdog: could not remove $dir" >&2
exit 0
