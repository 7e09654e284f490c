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
#   postgres2   two `serve` nodes (as in postgres) on one fresh database, the connections split
#               round-robin between them; says which node leads the router, each node's CPU and
#               PostgreSQL's per message, and the leader's extra CPU against the follower's; with
#               PROFILE=1 the nodes run as bench/loadgen/sbserve writing CPU profiles, and the share
#               of the leader's samples in runtime/leader and runtime/router is printed; not in the
#               default set
#
# one after the other, each with the same connections and durations; the peers with their own
# loadgen (../shared/peers/loadgen), Switchboard with bench/loadgen (signed custom-connector
# webhooks, a unique message id each, every answer checked). Prints each run, the medians, the CPU
# the server (and PostgreSQL), the load generator and the rest of the machine used, and a summary
# table with the ratios; writes it all to $OUT.
#
#   bench/run.sh [ceiling] [nodered] [sqlite] [postgres] [voice] [postgres2]     (default: the first four)
#
# Env: CONNS=64 DURATION=10s WARMUP=2s RUNS=3 CONTACTS=0 (0: a new contact per message)
#      WORK=/tmp/switchboard-bench.XXXXXX (binaries, databases, results)  OUT=$WORK/results
#      PEERS_DIR=<repo>/../shared/peers  NODERED_DIR=/tmp/nodered
#      SB_PORT=18700 SB_PG_PORT=18701 SB_VOICE_PORT=18702 SB_PG2_PORT=18703 CEILING_PORT=18900 NODERED_PORT=18800
#      PROFILE=1: postgres2's nodes write CPU profiles ($OUT/postgres2-N.pprof); LEAD=2: postgres2 starts its
#      second node first, so that one leads the router
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
sb_pg2_port="${SB_PG2_PORT:-18703}"
ceiling_port="${CEILING_PORT:-18900}" nodered_port="${NODERED_PORT:-18800}"
nodered_dir="${NODERED_DIR:-/tmp/nodered}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(ceiling nodered sqlite postgres)
for t in "${targets[@]}"; do
    case "$t" in ceiling | nodered | sqlite | postgres | voice | postgres2) ;; *) echo "unknown target $t (ceiling|nodered|sqlite|postgres|voice|postgres2)" >&2; exit 2 ;; esac
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
rm -f "$out/summary.tsv" "$out/permsg.md" "$out/leader.txt"

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
pg_snapshot() { # every process named postgres -> "pid ticks" lines (cat fails when a process ends
    # between the glob and its read, which a busy machine does all the time)
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { print $1, $14 + $15 }'
}
pg_commits() { # DSN -> the transactions its database committed so far (empty when it cannot say)
    psql "$1" -Atc 'SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()' 2>/dev/null || true
}
pg_seconds() { # DSN BEFORE AFTER -> CPU seconds PostgreSQL spent between the two snapshots on the
    # database of DSN: its backends and the server's own background processes (WAL writer,
    # checkpointer), not other databases' backends, which other users of a shared server run.
    # Every postgres process when the server cannot be asked. A backend that ended in between is
    # missed; the nodes' pooled connections live as long as the nodes.
    local ours
    ours="$(psql "$1" -Atc 'SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL' 2>/dev/null | tr '\n' ' ')" || ours=""
    awk -v ours="$ours" -v hz="$hz" 'BEGIN { n = split(ours, o, " "); for (i = 1; i <= n; i++) keep[o[i]] = 1 }
        FNR == NR { before[$1] = $2; next }
        n == 0 || ($1 in keep) { s += $2 - ($1 in before ? before[$1] : 0) }
        END { printf "%.3f", s / hz }' "$2" "$3"
}

# JSON readers for the loadgens' indented summaries (both write `  "key": value` lines).
jnum() { sed -n "s/^  \"$2\": \([-0-9.e+]*\),\{0,1\}\$/\1/p" "$1" | head -1; }
jarr() {
    awk -v k="\"$2\": [" 'index($0, k) == 3 { on = 1; next } on && /^  \]/ { exit } on { gsub(/[ ,]/, ""); printf "%s%.0f", (n++ ? " · " : ""), $0 }' "$1"
}

failed=0
status_of=()

# measure NAME STORE LOADGEN URLS SERVER_PIDS [POSTGRES_DSN]: one loadgen invocation against running
# servers (URLS comma-separated, SERVER_PIDS space-separated, in the same order). Besides the
# summary row it writes $out/NAME.cpu: the wall seconds, each server's and PostgreSQL's CPU seconds.
measure() {
    local name="$1" store="$2" lg="$3" url="$4" spid="$5" pg="${6:-}" t0 t1 b0 b1 rc p x0 x1
    local -a spids c0 c1
    read -r -a spids <<<"$spid"
    local args=(-url "$url" -c "$conns" -d "$duration" -warmup "$warmup" -runs "$runs" -name "$name" -json "$out/$name.json")
    [[ "$lg" == "$bin/loadgen" ]] && args+=(-contacts "$contacts")
    if [[ -n "$pg" ]]; then pg_snapshot >"$out/$name.pg0"; x0=$(pg_commits "$pg"); fi
    t0=$(date +%s.%N) b0=$(busy_ticks)
    for p in "${spids[@]}"; do c0+=("$(cpu_ticks "$p")"); done
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
    for p in "${spids[@]}"; do c1+=("$(cpu_ticks "$p")"); done
    t1=$(date +%s.%N) b1=$(busy_ticks)
    if [[ -n "$pg" ]]; then pg_snapshot >"$out/$name.pg1"; fi
    rc=$(cat "$out/$name.rc")
    local lgcpu server pgcpu="" wall other i nodes="" ticks=0 secs pgsecs=""
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    lgcpu=$(sed -n 2p "$out/$name.times" | awk -v w="$wall" '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) / w }')
    echo "wall $wall" >"$out/$name.cpu"
    for i in "${!spids[@]}"; do
        ticks=$((ticks + c1[i] - c0[i]))
        secs=$(awk -v c="$((c1[i] - c0[i]))" -v hz="$hz" 'BEGIN { printf "%.3f", c / hz }')
        echo "node ${spids[i]} $secs" >>"$out/$name.cpu"
        nodes+="${nodes:+ + }$(awk -v s="$secs" -v w="$wall" 'BEGIN { printf "%.2f", s / w }')"
    done
    server=$(awk -v c="$ticks" -v hz="$hz" -v w="$wall" 'BEGIN { printf "%.2f", c / hz / w }')
    if [[ -n "$pg" ]]; then
        pgsecs=$(pg_seconds "$pg" "$out/$name.pg0" "$out/$name.pg1")
        echo "pg $pgsecs" >>"$out/$name.cpu"
        # A backend reports its commits to the statistics up to a second after it makes them.
        sleep 2
        x1=$(pg_commits "$pg")
        if [[ -n "$x0" && -n "$x1" ]]; then echo "commits $((x1 - x0))" >>"$out/$name.cpu"; fi
        pgcpu=$(awk -v s="$pgsecs" -v w="$wall" 'BEGIN { printf "%.2f", s / w }')
    fi
    # Whatever else the machine ran meanwhile (other processes, the kernel's own threads): a busy
    # machine makes the figures smaller than this machine can do.
    other=$(awk -v b="$((b1 - b0))" -v hz="$hz" -v w="$wall" -v s="$server" -v p="${pgcpu:-0}" -v l="$lgcpu" \
        'BEGIN { o = b / hz / w - s - p - l; printf "%.2f", o < 0 ? 0 : o }')
    # Several servers: the table's server CPU is their sum, with each node's share beside it.
    if [[ ${#spids[@]} -gt 1 ]]; then server="$server ($nodes)"; fi
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

# ---- PostgreSQL targets ----

dsn=""
fresh_database() { # TARGET: sets dsn to $SWITCHBOARD_BENCH_POSTGRES (used as is), or to a database
    # created for TARGET and dropped by drop_database; fails when there is neither.
    dsn="${SWITCHBOARD_BENCH_POSTGRES:-}"
    [[ -z "$dsn" ]] || return 0
    command -v pg_isready >/dev/null && command -v createdb >/dev/null || return 1
    pg_isready -q -h 127.0.0.1 -p 5432 || return 1
    local db="sbbench_$$_$(date +%s)_$1"
    createdb -h 127.0.0.1 -U "$pg_user" "$db" || return 1
    created_db="$db"
    dsn="postgres://$pg_user@127.0.0.1:5432/$db?sslmode=disable"
}
drop_database() {
    if [[ -n "$created_db" ]]; then
        dropdb -h 127.0.0.1 -U "$pg_user" --if-exists "$created_db" || true
        created_db=""
    fi
}

pg_binary="" # the binary that serves PostgreSQL, found by the first start
# start_pg_node NAME PORT [BINARY]: serve on $dsn; sets sb_pid. Falls back to bench/loadgen/sbserve
# (the same cli.Main plus the postgres store's import) when cmd/switchboard has no postgres driver.
start_pg_node() {
    local name="$1" port="$2" binary="${3:-${pg_binary:-$bin/switchboard}}"
    start_switchboard "$name" "$binary" "$dsn" "$port" && { [[ -n "${3:-}" ]] || pg_binary="$binary"; return 0; }
    [[ "$binary" == "$bin/switchboard" ]] && grep -q 'no driver for "postgres"' "$out/$name.log" || return 1
    echo "NOTE: cmd/switchboard does not register the postgres store (cli/serve.go imports only" >&2
    echo "      runtime/store/sqlite); measuring with bench/loadgen/sbserve: the same cli.Main plus" >&2
    echo "      that import." >&2
    pg_binary="$bin/sbserve"
    status_of+=("$name: served by bench/loadgen/sbserve (cmd/switchboard has no postgres driver)")
    start_switchboard "$name" "$pg_binary" "$dsn" "$port"
}

# leads LOG: how many times the node of LOG took the router's leadership (runtime/leader logs
# `msg="router leader"` each time; a lost one adds `msg="router leader stopped"`).
leads() { grep -c 'msg="router leader"' "$1" 2>/dev/null || true; }

jlist() { # FILE KEY: a top-level JSON array of numbers, space-separated
    awk -v k="\"$2\": [" 'index($0, k) == 3 { on = 1; next } on && /^  \]/ { exit } on { gsub(/[ ,]/, ""); printf "%s%s", (n++ ? " " : ""), $0 }' "$1"
}

# per_message NAME: the CPU each node and PostgreSQL spent per message sent to it, from
# $out/NAME.cpu, the loadgen's per-target counts and $out/NAME.roles (each node's role, in -url
# order); appends table rows to $out/permsg.md and, for a leader and a follower, the leader's extra.
per_message() {
    local name="$1"
    [[ -s "$out/$name.json" && -s "$out/$name.cpu" ]] || return 0
    awk -v name="$name" -v sent="$(jlist "$out/$name.json" sent_by_target)" -v pre="$(jlist "$out/$name.json" preflight_by_target)" \
        -v roles="$(cat "$out/$name.roles")" '
        $1 == "wall" { wall = $2 }
        $1 == "node" { n++; pid[n] = $2; cpu[n] = $3 }
        $1 == "pg" { pg = $2; haspg = 1 }
        $1 == "commits" { commits = $2 }
        END {
            split(sent, s, " "); split(pre, p, " "); split(roles, r, " ")
            for (i = 1; i <= n; i++) s[i] += p[i]
            for (i = 1; i <= n; i++) { total += s[i]; allcpu += cpu[i] }
            dbcol = haspg && total ? sprintf("%.0f µs (%.1f s)", pg / total * 1e6, pg) : "–"
            if (haspg && commits) dbcol = dbcol sprintf(", %.2f transactions per message", commits / total)
            for (i = 1; i <= n; i++) {
                printf "| %s | node %d (pid %s) | %s | %d | %.1f s | %.0f µs | %s |\n", name, i, pid[i], r[i], s[i], cpu[i],
                    s[i] ? cpu[i] / s[i] * 1e6 : 0, n == 1 ? dbcol : ""
                if (r[i] == "leader") L = i; else if (r[i] == "follower") F = i
            }
            if (n > 1)
                printf "| %s | all nodes | | %d | %.1f s | %.0f µs | %s |\n", name, total, allcpu, total ? allcpu / total * 1e6 : 0, dbcol
            if (L && F && s[F] && total) {
                extra = cpu[L] - cpu[F] / s[F] * s[L]
                printf "LEADER\t%s\t%.1f\t%.0f\t%.2f\n", name, extra, extra / total * 1e6, extra / wall
            }
        }' "$out/$name.cpu" >"$out/$name.permsg"
    grep -v '^LEADER' "$out/$name.permsg" >>"$out/permsg.md" || true
    awk -F'\t' '$1 == "LEADER" { printf "%s: the leader spent %.1f s more than its messages cost the follower (%s µs per message of all nodes, %s cores)\n", $2, $3, $4, $5 }' \
        "$out/$name.permsg" | tee -a "$out/leader.txt"
}

# profile_share PROFILE: the share of a CPU profile's samples whose stack passes through
# runtime/leader or runtime/router (the router leader's work, with what it calls in the store).
profile_share() {
    go tool pprof -traces "$2" "$1" 2>/dev/null | awk '
        function secs(v) { return v ~ /ms$/ ? v / 1000 : v ~ /us$|µs$/ ? v / 1e6 : v ~ /ns$/ ? v / 1e9 : v + 0 }
        /^-+\+-+$/ { if (val != "") { all += secs(val); if (hit) ours += secs(val) } val = ""; hit = 0; next }
        val == "" && NF >= 2 && $1 ~ /^[0-9.]+(ns|us|µs|ms|s)$/ { val = $1 }
        /switchboard\/runtime\/(leader|router)[.\/]/ { hit = 1 }
        END { if (val != "") { all += secs(val); if (hit) ours += secs(val) }
              if (all > 0) printf "%.1f%% of %.1f s sampled", ours / all * 100, all; else printf "no samples" }'
}

# role_of BASE_URL LOG: leader or follower, by the node's switchboard_router_leader gauge, or by its
# log when /metrics does not answer.
role_of() {
    local g
    g="$({ curl -s --max-time 2 "$1/metrics" || true; } | awk '/^switchboard_router_leader[{ ]/ { v = $NF } END { print v }')"
    if [[ -z "$g" ]]; then g="$(leads "$2")"; fi
    if [[ "${g:-0}" -gt 0 ]]; then echo leader; else echo follower; fi
}

# two_nodes: the postgres2 target on $dsn. Node 1 listens on SB_PG_PORT, node 2 on SB_PG2_PORT; the
# node started first takes the router's lease (LEAD=2 starts node 2 first).
two_nodes() {
    local urls=() spids=() logs=() roles=() ports=("$sb_pg_port" "$sb_pg2_port") i binary="" n order=(0 1) after
    [[ "${PROFILE:-0}" == 1 ]] && binary="$bin/sbserve"
    [[ "${LEAD:-1}" == 2 ]] && order=(1 0)
    for i in "${order[@]}"; do
        rm -f "$out/postgres2-$((i + 1)).pprof"
        if ! SBSERVE_CPUPROFILE="${binary:+$out/postgres2-$((i + 1)).pprof}" start_pg_node "postgres2-$((i + 1))" "${ports[i]}" "$binary"; then
            echo "switchboard node $((i + 1)) (PostgreSQL) did not start; log:" >&2
            tail -n 20 "$out/postgres2-$((i + 1)).log" >&2
            status_of+=("postgres2: node $((i + 1)) did not start")
            failed=1
            for n in "${spids[@]}"; do stop_pid "$n"; done
            return 0
        fi
        spids[i]="$sb_pid" logs[i]="$out/postgres2-$((i + 1)).log" urls[i]="http://127.0.0.1:${ports[i]}"
        # the first node takes the lease at once; give it 5 s to say so before starting the second
        for _ in $(seq 1 50); do [[ "$(role_of "${urls[i]}" "${logs[i]}")" == leader || "$i" != "${order[0]}" ]] && break; sleep 0.1; done
    done
    head -2 "${logs[0]}"
    for i in 0 1; do
        roles[i]="$(role_of "${urls[i]}" "${logs[i]}")"
        echo "node $((i + 1)): ${urls[i]}, pid ${spids[i]}, ${roles[i]}"
    done
    echo "${roles[*]}" >"$out/postgres2.roles"
    measure postgres2 "PostgreSQL, 2 nodes" "$bin/loadgen" \
        "${urls[0]}/v1/webhooks/custom/default,${urls[1]}/v1/webhooks/custom/default" "${spids[*]}" "$dsn"
    # Each node logs each leadership it takes: more than one in all means the lease moved.
    after="$(role_of "${urls[0]}" "${logs[0]}") $(role_of "${urls[1]}" "${logs[1]}")"
    if [[ "$after" != "${roles[*]}" || $(($(leads "${logs[0]}") + $(leads "${logs[1]}"))) != 1 ]]; then
        echo "postgres2: the leadership changed during the load (now: $after); the leader's share is not measured" >&2
        status_of+=("postgres2: leadership changed during the load")
        echo "node node" >"$out/postgres2.roles"
    fi
    for n in "${spids[@]}"; do stop_pid "$n"; done
    per_message postgres2
    [[ -n "$binary" ]] || return 0
    for i in 0 1; do
        [[ -s "$out/postgres2-$((i + 1)).pprof" ]] || continue
        echo "postgres2: node $((i + 1)) (${roles[i]}) profile: runtime/leader + runtime/router $(profile_share "$out/postgres2-$((i + 1)).pprof" "$binary")" |
            tee -a "$out/leader.txt"
    done
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
        if ! fresh_database postgres; then
            echo "no PostgreSQL at 127.0.0.1:5432 (or createdb failed) and no SWITCHBOARD_BENCH_POSTGRES; skipped" >&2
            status_of+=("postgres: skipped, no server")
            continue
        fi
        echo "store: ${dsn%%\?*}"
        if start_pg_node postgres "$sb_pg_port"; then
            head -2 "$out/postgres.log"
            echo "leader" >"$out/postgres.roles"
            measure postgres PostgreSQL "$bin/loadgen" "http://127.0.0.1:$sb_pg_port/v1/webhooks/custom/default" "$sb_pid" "$dsn"
            stop_pid "$sb_pid"
            per_message postgres
        else
            echo "switchboard (PostgreSQL) did not start; log:" >&2
            tail -n 20 "$out/postgres.log" >&2
            status_of+=("postgres: did not start")
            failed=1
        fi
        drop_database
        ;;
    postgres2)
        echo "== Switchboard, two nodes on one PostgreSQL store"
        if ! fresh_database postgres2; then
            echo "no PostgreSQL at 127.0.0.1:5432 (or createdb failed) and no SWITCHBOARD_BENCH_POSTGRES; skipped" >&2
            status_of+=("postgres2: skipped, no server")
            continue
        fi
        echo "store: ${dsn%%\?*}"
        two_nodes
        drop_database
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
    if [[ -s "$out/permsg.md" ]]; then
        echo
        echo "CPU per message: each process's CPU seconds over the whole load divided by the messages sent to it (the"
        echo "preflight's and the warmups' included); PostgreSQL is this database's backends and the server's background"
        echo "processes, per message of all nodes; transactions per message: what the database committed meanwhile (every"
        echo "statement outside a transaction counts as one: the nodes' reads, their commits, the leader's) over the messages."
        echo
        echo "| target | process | role | messages | CPU | CPU per message | PostgreSQL per message |"
        echo "|---|---|---|---:|---:|---:|---:|"
        cat "$out/permsg.md"
        if [[ -s "$out/leader.txt" ]]; then echo; cat "$out/leader.txt"; fi
    fi
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
    r="$(rps_of postgres2 || true)" p="$(rps_of postgres || true)"
    if [[ -n "$r" && -n "$p" ]]; then
        echo "Two nodes on one PostgreSQL: $(printf "%'.0f" "$r") msg/s, $(awk -v a="$r" -v b="$p" 'BEGIN { printf "%.2f", a / b }')x one node ($(printf "%'.0f" "$p") msg/s)"
    fi
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
