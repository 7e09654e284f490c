#!/usr/bin/env bash
# Switchboard's runtime against the routing peers (../shared/peers), in one run, on loopback:
#
#   ceiling     the peers' bare fasthttp server doing the routing decision inline (no state)
#   nodered     the peers' Node-RED 5 flow (no state)
#   sqlite      switchboard serve bench/flows, custom connector, SQLite store (fresh file, WAL,
#               synchronous=FULL as the store configures it)
#   postgres    the same on PostgreSQL (a fresh database on 127.0.0.1:5432, or $SWITCHBOARD_BENCH_POSTGRES)
#   voice       switchboard serve flows/ with a twilio_voice instance, SQLite: every request a new phone
#               call (a signed Twilio webhook) answered with the IVR's TwiML (bench/loadgen -twilio-voice);
#               not in the default set
#
# one after the other, each with the same connections and durations; the peers with their own
# loadgen (../shared/peers/loadgen), Switchboard with bench/loadgen (signed custom-connector
# webhooks, a unique message id each, every answer checked). Prints each run, the medians, the CPU
# the server (and PostgreSQL), the load generator and the rest of the machine used, and a summary
# table with the ratios; writes it all to $OUT.
#
#   bench/run.sh [ceiling] [nodered] [sqlite] [postgres] [voice]       (default: the first four)
#
# Env: CONNS=64 DURATION=10s WARMUP=2s RUNS=3 CONTACTS=0 (0: a new contact per message)
#      WORK=/tmp/switchboard-bench.XXXXXX (binaries, databases, results)  OUT=$WORK/results
#      PEERS_DIR=<repo>/../shared/peers  NODERED_DIR=/tmp/nodered
#      SB_PORT=18700 SB_PG_PORT=18701 SB_VOICE_PORT=18702 CEILING_PORT=18900 NODERED_PORT=18800
#      SWITCHBOARD_BENCH_POSTGRES=postgres://… (used as is; default: createdb a fresh database
#      on 127.0.0.1:5432 as $PGUSER, default postgres, and drop it at the end)
#      PIN=1: servers on CPU 0, load generators on CPU 1 (PostgreSQL itself is not pinned)
# Every process started here is stopped by its pid on exit, also on failure or Ctrl-C.
# Exit status 1 when a measured target answered wrongly or did not start; Node-RED that cannot be
# installed and PostgreSQL that is not there are reported and skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
peers="${PEERS_DIR:-$root/../shared/peers}"
conns="${CONNS:-64}" duration="${DURATION:-10s}" warmup="${WARMUP:-2s}" runs="${RUNS:-3}" contacts="${CONTACTS:-0}"
work="${WORK:-$(mktemp -d /tmp/switchboard-bench.XXXXXX)}"
bin="$work/bin" out="${OUT:-$work/results}"
sb_port="${SB_PORT:-18700}" sb_pg_port="${SB_PG_PORT:-18701}" sb_voice_port="${SB_VOICE_PORT:-18702}"
ceiling_port="${CEILING_PORT:-18900}" nodered_port="${NODERED_PORT:-18800}"
nodered_dir="${NODERED_DIR:-/tmp/nodered}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(ceiling nodered sqlite postgres)
for t in "${targets[@]}"; do
    case "$t" in ceiling | nodered | sqlite | postgres | voice) ;; *) echo "unknown target $t (ceiling|nodered|sqlite|postgres|voice)" >&2; exit 2 ;; esac
done

server_cpu=() loadgen_cpu=()
if [[ "${PIN:-0}" == 1 ]]; then
    server_cpu=(taskset -c 0) loadgen_cpu=(taskset -c 1)
fi

# The custom connector instance's secret: new for every run, passed by environment.
SWITCHBOARD_BENCH_SECRET="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export SWITCHBOARD_BENCH_SECRET
# The twilio_voice instance's auth token (the voice target).
SWITCHBOARD_BENCH_TWILIO_TOKEN="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

# ---- cleanup: every pid we started, and the database we created ----
pids=()
created_db=""
pg_user="${PGUSER:-postgres}"
forget_pid() { # drop a pid from pids once it is stopped or reaped, so that cleanup never signals a reused pid
    local keep=() x
    for x in "${pids[@]}"; do [[ "$x" == "$1" ]] || keep+=("$x"); done
    pids=("${keep[@]}")
}
stop_pid() {
    local p="$1"
    forget_pid "$p"
    kill -0 "$p" 2>/dev/null || return 0
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    echo "pid $p ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null || true
}
lg_pidfile=""
cleanup() {
    local p
    if [[ -n "$lg_pidfile" && -s "$lg_pidfile" ]]; then stop_pid "$(cat "$lg_pidfile")"; fi
    for p in "${pids[@]}"; do stop_pid "$p"; done
    if [[ -n "$created_db" ]]; then
        dropdb -h 127.0.0.1 -U "$pg_user" --if-exists "$created_db" 2>/dev/null || echo "could not drop database $created_db" >&2
        created_db=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$bin" "$out"
rm -f "$out/summary.tsv"

echo "== building ($work)"
(cd "$root" && go build -o "$bin/switchboard" ./cmd/switchboard && go build -o "$bin/loadgen" ./bench/loadgen &&
    go build -o "$bin/sbserve" ./bench/loadgen/sbserve)
(cd "$peers/loadgen" && go build -o "$bin/peers-loadgen" .)
(cd "$peers/ceiling" && go build -o "$bin/ceiling" .)

hz="$(getconf CLK_TCK)"
cpu_ticks() { # pid -> utime+stime in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
busy_ticks() { # the whole machine's user + nice + system time in clock ticks (not irq and softirq,
    # where loopback's packet processing goes and no process is charged for it)
    awk '$1 == "cpu" { print $2 + $3 + $4; exit }' /proc/stat
}
pg_ticks() { # all processes named postgres -> utime+stime in clock ticks
    cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" { s += $14 + $15 } END { print s + 0 }'
}

# JSON readers for the loadgens' indented summaries (both write `  "key": value` lines).
jnum() { sed -n "s/^  \"$2\": \([-0-9.e+]*\),\{0,1\}\$/\1/p" "$1" | head -1; }
jarr() {
    awk -v k="\"$2\": [" 'index($0, k) == 3 { on = 1; next } on && /^  \]/ { exit } on { gsub(/[ ,]/, ""); printf "%s%.0f", (n++ ? " · " : ""), $0 }' "$1"
}

failed=0
status_of=()

# measure NAME STORE LOADGEN URL SERVER_PID [pg]: one loadgen invocation against a running server.
measure() {
    local name="$1" store="$2" lg="$3" url="$4" spid="$5" pg="${6:-}" t0 t1 c0 c1 p0=0 p1=0 b0 b1 rc
    local args=(-url "$url" -c "$conns" -d "$duration" -warmup "$warmup" -runs "$runs" -name "$name" -json "$out/$name.json")
    [[ "$lg" == "$bin/loadgen" ]] && args+=(-contacts "$contacts")
    t0=$(date +%s.%N) c0=$(cpu_ticks "$spid") b0=$(busy_ticks)
    [[ -n "$pg" ]] && p0=$(pg_ticks)
    # The loadgen runs in the background of a subshell whose `times` then says the CPU it used,
    # and this shell waits for it with `wait`, which a Ctrl-C or SIGTERM interrupts (the trap
    # then stops it by its pid).
    : >"$out/$name.txt"
    rm -f "$out/$name.json" "$out/$name.rc" # a failed preflight writes none: no stale results
    (
        set +e
        "${loadgen_cpu[@]}" "$lg" "${args[@]}" >"$out/$name.txt" 2>&1 &
        echo $! >"$out/$name.pid"
        wait $!
        echo $? >"$out/$name.rc"
        times >"$out/$name.times" # second line: the children's (the loadgen's) user and system time
    ) &
    local sub=$!
    pids+=("$sub")
    lg_pidfile="$out/$name.pid"
    tail -n +1 -f --pid="$sub" "$out/$name.txt" &
    local tailpid=$!
    wait "$sub" || true
    forget_pid "$sub"
    wait "$tailpid" || true
    rm -f "$lg_pidfile"
    lg_pidfile=""
    t1=$(date +%s.%N) c1=$(cpu_ticks "$spid") b1=$(busy_ticks)
    [[ -n "$pg" ]] && p1=$(pg_ticks)
    rc=$(cat "$out/$name.rc")
    local lgcpu server pgcpu="" wall other
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    lgcpu=$(sed -n 2p "$out/$name.times" | awk -v w="$wall" '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) / w }')
    server=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v w="$wall" 'BEGIN { printf "%.2f", c / hz / w }')
    [[ -n "$pg" ]] && pgcpu=$(awk -v c="$((p1 - p0))" -v hz="$hz" -v w="$wall" 'BEGIN { printf "%.2f", c / hz / w }')
    # Whatever else the machine ran meanwhile (other processes, the kernel's own threads): a busy
    # machine makes the figures smaller than this machine can do.
    other=$(awk -v b="$((b1 - b0))" -v hz="$hz" -v w="$wall" -v s="$server" -v p="${pgcpu:-0}" -v l="$lgcpu" \
        'BEGIN { o = b / hz / w - s - p - l; printf "%.2f", o < 0 ? 0 : o }')
    echo "$name: server CPU $server cores${pg:+, postgres CPU $pgcpu cores}, loadgen CPU $lgcpu cores, other CPU $other cores, over ${wall%.*} s of load ($(nproc) CPUs)" | tee -a "$out/$name.txt"
    if [[ ! -s "$out/$name.json" ]]; then
        echo "$name: the loadgen wrote no results (exit $rc)" >&2
        status_of+=("$name: no results")
        failed=1
        return 0
    fi
    [[ "$rc" == 0 ]] || { failed=1; status_of+=("$name: loadgen exit $rc (wrong answers or failures)"); }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$store" \
        "$(jnum "$out/$name.json" median_rps)" "$(jnum "$out/$name.json" median_p50_ms)" \
        "$(jnum "$out/$name.json" median_p90_ms)" "$(jnum "$out/$name.json" median_p99_ms)" \
        "$server" "$pgcpu" "$lgcpu" "$(jnum "$out/$name.json" errors_total)" "$(jarr "$out/$name.json" rps)" "$rc" "$other" \
        >>"$out/summary.tsv"
}

wait_http() { # url pid: until GET url answers 200, or the pid dies (30 s)
    for _ in $(seq 1 300); do
        kill -0 "$2" 2>/dev/null || return 1
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)" == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

# start_switchboard NAME BINARY STORE_URL PORT: starts serve in the background; sets sb_pid.
sb_pid=""
start_switchboard() {
    local name="$1" binary="$2" store_url="$3" port="$4"
    SBSECRET="$SWITCHBOARD_BENCH_SECRET" "${server_cpu[@]}" "$binary" serve --addr "127.0.0.1:$port" --store "$store_url" \
        --connector 'custom/default,secret=env:SBSECRET' "$root/bench/flows" >"$out/$name.log" 2>&1 &
    sb_pid=$!
    pids+=("$sb_pid")
    if ! wait_http "http://127.0.0.1:$port/readyz" "$sb_pid"; then
        stop_pid "$sb_pid"
        return 1
    fi
}

echo "== machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(go env GOVERSION), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "== load: $conns connections, $runs x $duration after $warmup warmup each, contacts=$contacts (0: a new contact per message), pin=${PIN:-0}"

for target in "${targets[@]}"; do
    case "$target" in
    ceiling)
        echo "== ceiling (bare fasthttp, no state)"
        "${server_cpu[@]}" "$bin/ceiling" -addr "127.0.0.1:$ceiling_port" 2>"$out/ceiling.log" &
        pid=$!
        pids+=("$pid")
        for _ in $(seq 1 100); do
            curl -s --max-time 1 -H 'Content-Type: application/json' -d '{"text":"hi"}' "http://127.0.0.1:$ceiling_port/webhook" >/dev/null && break
            sleep 0.1
        done
        measure ceiling "-" "$bin/peers-loadgen" "http://127.0.0.1:$ceiling_port/webhook" "$pid"
        stop_pid "$pid"
        ;;
    nodered)
        echo "== Node-RED (peers' flows.json, no state)"
        # The peers' run.sh installs Node-RED 5 (and Node 22 when the machine's node is older) into
        # $nodered_dir and /tmp/node22 when missing, starts it and prints its pid.
        if pid="$(PORT="$nodered_port" "${server_cpu[@]}" "$peers/nodered/run.sh" "$nodered_dir" 2> >(tee "$out/nodered-start.log" >&2))" && [[ -n "$pid" ]]; then
            pids+=("$pid")
            node_bin="$(readlink "/proc/$pid/exe")"
            echo "node-red $(sed -n 's/^ *"version": "\(.*\)",/\1/p' "$nodered_dir/node_modules/node-red/package.json" | head -1) on node $("$node_bin" --version), pid $pid"
            measure nodered "-" "$bin/peers-loadgen" "http://127.0.0.1:$nodered_port/webhook" "$pid"
            stop_pid "$pid"
        else
            if [[ -f "$nodered_dir/node_modules/node-red/red.js" ]]; then
                echo "Node-RED is installed in $nodered_dir but did not start (see $out/nodered-start.log); skipped" >&2
            else
                echo "Node-RED could not be installed into $nodered_dir (see $out/nodered-start.log); skipped" >&2
            fi
            status_of+=("nodered: skipped, not available")
        fi
        ;;
    sqlite)
        echo "== Switchboard, SQLite store"
        mkdir -p "$work/sqlite"
        rm -f "$work/sqlite"/switchboard.db*
        if start_switchboard sqlite "$bin/switchboard" "sqlite:$work/sqlite/switchboard.db" "$sb_port"; then
            head -2 "$out/sqlite.log"
            measure sqlite SQLite "$bin/loadgen" "http://127.0.0.1:$sb_port/v1/webhooks/custom/default" "$sb_pid"
            stop_pid "$sb_pid"
            echo "database after the runs: $(du -sh "$work/sqlite" | cut -f1)"
        else
            echo "switchboard (SQLite) did not start; log:" >&2
            tail -n 20 "$out/sqlite.log" >&2
            status_of+=("sqlite: did not start")
            failed=1
        fi
        ;;
    voice)
        echo "== Switchboard, phone calls (twilio_voice, flows/ivr.flow), SQLite store"
        mkdir -p "$work/voice"
        rm -f "$work/voice"/switchboard.db*
        SBTWILIO="$SWITCHBOARD_BENCH_TWILIO_TOKEN" "${server_cpu[@]}" "$bin/switchboard" serve --addr "127.0.0.1:$sb_voice_port" \
            --store "sqlite:$work/voice/switchboard.db" --public-url "http://127.0.0.1:$sb_voice_port" --env ASSETS_URL=https://assets.test \
            --connector 'twilio_voice/default,account_sid=AC00000000000000000000000000000000,auth_token=env:SBTWILIO' \
            "$root/flows" >"$out/voice.log" 2>&1 &
        sb_pid=$!
        pids+=("$sb_pid")
        if wait_http "http://127.0.0.1:$sb_voice_port/readyz" "$sb_pid"; then
            head -2 "$out/voice.log"
            SWITCHBOARD_BENCH_TWILIO_TOKEN="$SWITCHBOARD_BENCH_TWILIO_TOKEN" \
                measure voice "SQLite, calls" "$bin/loadgen" "http://127.0.0.1:$sb_voice_port/v1/webhooks/twilio_voice/default" "$sb_pid"
            stop_pid "$sb_pid"
        else
            echo "switchboard (voice) did not start; log:" >&2
            tail -n 20 "$out/voice.log" >&2
            status_of+=("voice: did not start")
            failed=1
        fi
        ;;
    postgres)
        echo "== Switchboard, PostgreSQL store"
        dsn="${SWITCHBOARD_BENCH_POSTGRES:-}"
        if [[ -z "$dsn" ]]; then
            if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 && command -v createdb >/dev/null; then
                db="sbbench_$$_$(date +%s)"
                if createdb -h 127.0.0.1 -U "$pg_user" "$db"; then
                    created_db="$db"
                    dsn="postgres://$pg_user@127.0.0.1:5432/$db?sslmode=disable"
                fi
            fi
        fi
        if [[ -z "$dsn" ]]; then
            echo "no PostgreSQL at 127.0.0.1:5432 (or createdb failed) and no SWITCHBOARD_BENCH_POSTGRES; skipped" >&2
            status_of+=("postgres: skipped, no server")
            continue
        fi
        echo "store: ${dsn%%\?*}"
        binary="$bin/switchboard"
        if ! start_switchboard postgres "$binary" "$dsn" "$sb_pg_port"; then
            if grep -q 'no driver for "postgres"' "$out/postgres.log"; then
                echo "NOTE: cmd/switchboard does not register the postgres store (cli/serve.go imports only" >&2
                echo "      runtime/store/sqlite); measuring with bench/loadgen/sbserve: the same cli.Main plus" >&2
                echo "      that import." >&2
                binary="$bin/sbserve"
                status_of+=("postgres: served by bench/loadgen/sbserve (cmd/switchboard has no postgres driver)")
                start_switchboard postgres "$binary" "$dsn" "$sb_pg_port" || binary=""
            else
                binary=""
            fi
        fi
        if [[ -n "$binary" ]]; then
            head -2 "$out/postgres.log"
            measure postgres PostgreSQL "$bin/loadgen" "http://127.0.0.1:$sb_pg_port/v1/webhooks/custom/default" "$sb_pid" pg
            stop_pid "$sb_pid"
        else
            echo "switchboard (PostgreSQL) did not start; log:" >&2
            tail -n 20 "$out/postgres.log" >&2
            status_of+=("postgres: did not start")
            failed=1
        fi
        if [[ -n "$created_db" ]]; then
            dropdb -h 127.0.0.1 -U "$pg_user" --if-exists "$created_db" || true
            created_db=""
        fi
        ;;
    esac
done

# ---- summary ----
echo
echo "== summary: $conns connections, $runs x $duration after $warmup warmup, medians of the runs (each figure its own median)"
{
    echo "| target | store | msg/s (median) | p50 | p90 | p99 | server CPU | PostgreSQL CPU | loadgen CPU | other CPU | errors | runs (msg/s) |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    [[ -f "$out/summary.tsv" ]] && awk -F'\t' '{
        label = $1 == "ceiling" ? "ceiling (fasthttp)" : $1 == "nodered" ? "Node-RED" : "Switchboard"
        p90 = $5 == "" ? "–" : sprintf("%.2f ms", $5)
        printf "| %s | %s | %.0f | %.2f ms | %s | %.2f ms | %s | %s | %s | %s | %s | %s |\n", label, $2, $3, $4, p90, $6, $7, ($8 == "" ? "–" : $8), $9, $13, $10, $11
    }' "$out/summary.tsv"
    echo
    echo "CPU columns: cores used on average over each target's whole load (preflight, warmups, runs); 'other' is the"
    echo "rest of the machine's user and system time meanwhile (other processes, kernel threads), which the figures"
    echo "compete with; the kernel's softirq time (loopback packet processing) is in none of the columns."
} | tee "$out/summary.md"

rps_of() { [[ -f "$out/summary.tsv" ]] && awk -F'\t' -v n="$1" '$1 == n { print $3 }' "$out/summary.tsv"; }
p99_of() { [[ -f "$out/summary.tsv" ]] && awk -F'\t' -v n="$1" '$1 == n { print $6 }' "$out/summary.tsv"; }
ceiling_rps="$(rps_of ceiling || true)" nodered_rps="$(rps_of nodered || true)"
{
    echo
    for s in sqlite postgres; do
        r="$(rps_of "$s" || true)"
        [[ -n "$r" ]] || continue
        line="Switchboard on $s: $(printf "%'.0f" "$r") msg/s"
        [[ -n "$ceiling_rps" ]] && line+=", $(awk -v a="$r" -v b="$ceiling_rps" 'BEGIN { printf "%.3f", a / b }') of the ceiling"
        [[ -n "$nodered_rps" ]] && line+=", $(awk -v a="$r" -v b="$nodered_rps" 'BEGIN { printf "%.2f", a / b }')x Node-RED"
        echo "$line"
    done
    r="$(rps_of sqlite || true)" p="$(p99_of sqlite || true)"
    if [[ -n "$r" ]]; then
        if awk -v r="$r" -v p="$p" 'BEGIN { exit !(r >= 10000 && p < 20) }'; then
            echo "Target (durable on SQLite >= 10,000 msg/s, p99 < 20 ms): MET ($(printf "%'.0f" "$r") msg/s, p99 $(printf "%.2f" "$p") ms)"
        else
            echo "Target (durable on SQLite >= 10,000 msg/s, p99 < 20 ms): NOT MET ($(printf "%'.0f" "$r") msg/s, p99 $(printf "%.2f" "$p") ms)"
        fi
    fi
    for s in "${status_of[@]}"; do echo "note: $s"; done
} | tee -a "$out/summary.md"
echo "results in $out"
exit "$failed"
