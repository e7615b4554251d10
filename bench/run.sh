#!/usr/bin/env bash
# bench/run.sh: raftkv against etcd 3.4 and a plain-HTTP floor (nginx) on this
# machine, under the same wrk loads, in one run. Writes the results table and
# the plots into docs/benchmarks.md and docs/img/ (see that page).
#
#   bench/run.sh                 # everything: ~20 min on 2 cores
#   bench/run.sh --quick         # 1 run of 2 s per load, no failover/memory
#   bench/run.sh --help
#
# Installs what it needs (etcd-server, etcd-client, wrk, gnuplot-nox; nginx is
# unpacked into build-release/bench-tools, never installed as a service).
# Every server binds 127.0.0.1 on free ports, keeps its data in a temp dir,
# and is killed by PID when the script ends, also on failure or Ctrl+C.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
duration=5
runs=3
conns_list="1 16 64"
systems="floor raftkv etcd"
ops="put get sget"
failover_trials=20
memory_keys=1000000
do_failover=1
do_memory=1
write_docs=1
build=1
server_override=""

usage() {
  cat <<EOF
usage: bench/run.sh [options]

Builds a release build (build-release/), starts a 3-node raftkv cluster, a
3-member etcd 3.4 cluster and nginx, all on 127.0.0.1, and runs the same wrk
loads against each: PUT, linearizable GET and stale GET (etcd: serializable)
at 1, 16 and 64 connections, 10,000 random 9-byte keys, 100-byte values.
Then the failover and memory measurements of raftkv. Medians of the runs go
to docs/benchmarks.md (between its bench markers) and docs/img/*.png.

options:
  --duration S       seconds per load (default $duration)
  --runs N           runs of every load; the table keeps the median (default $runs)
  --conns "A B C"    connection counts (default "$conns_list")
  --systems "..."    any of: floor raftkv etcd (default "$systems")
  --failover N       failover trials (default $failover_trials; 0 skips)
  --memory-keys N    keys of the memory test (default $memory_keys; 0 skips)
  --quick            --duration 2 --runs 1 --failover 0 --memory-keys 0
  --no-docs          print the results, leave docs/ alone
  --no-build         use build-release/ as it is
  --server PATH      another raftkv-server binary (e.g. an older commit's
                     release build, for a before/after comparison)
  -h, --help         this text
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --conns) conns_list="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    --failover) failover_trials="$2"; shift 2 ;;
    --memory-keys) memory_keys="$2"; shift 2 ;;
    --quick) duration=2; runs=1; failover_trials=0; memory_keys=0; shift ;;
    --no-docs) write_docs=0; shift ;;
    --no-build) build=0; shift ;;
    --server) server_override="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$failover_trials" -gt 0 ] || do_failover=0
[ "$memory_keys" -gt 0 ] || do_memory=0

say() { printf '\n== %s\n' "$*" >&2; }

# -- dependencies and the release build --------------------------------------

# shellcheck source=../scripts/lib/deps.sh
. "$root/scripts/lib/deps.sh"
raftkv_ensure_deps
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v python3 >/dev/null || need+=(python3)
[ ${#need[@]} -eq 0 ] || raftkv_apt "${need[@]}"

bdir="$root/build-release"
if [ "$build" = 1 ]; then
  say "release build in $bdir"
  if [ ! -f "$bdir/build.ninja" ]; then
    CXX="${CXX:-$(command -v ccache >/dev/null && echo 'ccache g++' || echo g++)}" \
      meson setup "$bdir" "$root" --wrap-mode=nodownload --buildtype=release -Db_ndebug=true >&2
  fi
  ninja -C "$bdir" tools/raftkv-server/raftkv-server tools/raftkv-client/raftkv-client >&2
fi
server="${server_override:-$bdir/tools/raftkv-server/raftkv-server}"
client="$bdir/tools/raftkv-client/raftkv-client"
[ -x "$server" ] && [ -x "$client" ] || { echo "bench/run.sh: no release build in $bdir (drop --no-build)" >&2; exit 1; }

# nginx for the floor: the system's if there is one, else the Debian package
# unpacked (apt-get download needs no root, and nothing starts on port 80).
nginx_bin=""
if [[ " $systems " == *" floor "* ]]; then
  if command -v nginx >/dev/null; then
    nginx_bin=$(command -v nginx)
  else
    tools="$bdir/bench-tools"
    if [ ! -x "$tools/usr/sbin/nginx" ]; then
      mkdir -p "$tools"
      (cd "$tools" && apt-get download -q nginx-light >&2 && dpkg -x nginx-light_*.deb . && rm -f nginx-light_*.deb) ||
        { echo "bench/run.sh: could not fetch nginx-light; run with --systems 'raftkv etcd'" >&2; exit 1; }
    fi
    nginx_bin="$tools/usr/sbin/nginx"
  fi
fi

# -- processes ----------------------------------------------------------------

work=$(mktemp -d /tmp/raftkv-bench-XXXXXX)
pids=()
cleanup() {
  local p
  # TERM first: nginx's master takes its workers down with it (after a -9
  # they would stay behind, busy, skewing the next run).
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# A process waited for leaves the list: its PID may be reused by then.
forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A base port B such that B..B+n-1 and B+1000..B+1000+n-1 are free.
free_base() {
  local n=$1 b i ok
  for _ in $(seq 1 200); do
    b=$((20000 + RANDOM % 20000))
    ok=1
    for i in $(seq 0 $((n - 1))); do
      port_free $((b + i)) && port_free $((b + 1000 + i)) || { ok=0; break; }
    done
    [ "$ok" = 1 ] && { echo "$b"; return; }
  done
  echo "bench/run.sh: no free ports" >&2
  exit 1
}

json_field() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

wait_until() {  # wait_until SECONDS CMD...: polls CMD every 50 ms
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# raftkv -----------------------------------------------------------------------

rk_base=0
declare -A rk_pid
rk_peers() { echo "1=127.0.0.1:$rk_base,2=127.0.0.1:$((rk_base + 1)),3=127.0.0.1:$((rk_base + 2))"; }
rk_start_node() {  # rk_start_node ID [extra flags]
  local id=$1; shift
  "$server" --id "$id" --peers "$(rk_peers)" --headless --data-dir "$work/raftkv/node-$id" \
    --log-file "$work/raftkv/node-$id.log" "$@" </dev/null >/dev/null 2>&1 &
  rk_pid[$id]=$!
  pids+=($!)
}
rk_role() { curl -s --max-time 1 "http://127.0.0.1:$((rk_base + 1000 + $1 - 1))/v1/status" | json_field role; }
rk_leader() {
  local i
  for i in 1 2 3; do
    [ -n "${rk_pid[$i]:-}" ] || continue
    [ "$(rk_role "$i" 2>/dev/null)" = leader ] && { echo "$i"; return 0; }
  done
  return 1
}
rk_keys() { curl -s --max-time 2 "http://127.0.0.1:$1/v1/status" | json_field kv.keys; }

# etcd -------------------------------------------------------------------------

et_base=0
et_start() {
  local i cluster=""
  et_base=$(free_base 3)
  for i in 1 2 3; do cluster+="${cluster:+,}m$i=http://127.0.0.1:$((et_base + i - 1))"; done
  for i in 1 2 3; do
    etcd --name "m$i" --data-dir "$work/etcd/m$i" \
      --listen-peer-urls "http://127.0.0.1:$((et_base + i - 1))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((et_base + i - 1))" \
      --listen-client-urls "http://127.0.0.1:$((et_base + 1000 + i - 1))" \
      --advertise-client-urls "http://127.0.0.1:$((et_base + 1000 + i - 1))" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token raftkv-bench \
      --log-level error --logger zap </dev/null >"$work/etcd-m$i.log" 2>&1 &
    pids+=($!)
    sys_pids+=($!)
  done
}
et_is_leader() {
  local s
  s=$(curl -s --max-time 1 -X POST "http://127.0.0.1:$1/v3/maintenance/status" -d '{}') || return 1
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["header"]["member_id"]==d["leader"] else 1)' "$s"
}
et_leader_port() {
  local i
  for i in 0 1 2; do et_is_leader $((et_base + 1000 + i)) && { echo $((et_base + 1000 + i)); return 0; }; done
  return 1
}
et_keys() {
  curl -s --max-time 5 -X POST "http://127.0.0.1:$1/v3/kv/range" -d '{"key":"AA==","range_end":"AA==","count_only":true}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("count","0"))'
}

# -- loads ----------------------------------------------------------------------

# CPU time (user + system, every thread) used so far by the given processes
# and their children (nginx's workers), in clock ticks.
cpu_ticks() {
  local p c total=0
  for p in "$@"; do
    for c in $p $(ps -o pid= --ppid "$p" 2>/dev/null); do
      [ -r "/proc/$c/stat" ] || continue
      # Fields 14 and 15 (utime, stime) after the ")" that ends the name.
      total=$((total + $(sed 's/^.*) //' "/proc/$c/stat" | awk '{print $12 + $13}')))
    done
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)
sys_pids=()  # the processes of the system under load, for cpu_ticks

results="$work/results.tsv"
: >"$results"
lua="$root/bench/wrk/kv.lua"

# run_wrk SYSTEM OP CONNS PORT SECONDS [ORDER] -> prints the RESULT line
run_wrk() {
  local sys=$1 op=$2 c=$3 port=$4 secs=$5 order=${6:-random} t=1
  [ "$c" -ge 16 ] && t=2
  BENCH_TARGET=$sys BENCH_OP=$op BENCH_ORDER=$order \
    wrk -t"$t" -c"$c" -d"${secs}s" --timeout 10s -s "$lua" "http://127.0.0.1:$port" 2>&1 | grep '^RESULT' || true
}

measure() {  # measure SYSTEM OP PORT
  local sys=$1 op=$2 port=$3 c r line t0 t1 reqs cpu_us
  for c in $conns_list; do
    for r in $(seq 1 "$runs"); do
      t0=$(cpu_ticks "${sys_pids[@]}")
      line=$(run_wrk "$sys" "$op" "$c" "$port" "$duration")
      t1=$(cpu_ticks "${sys_pids[@]}")
      [ -n "$line" ] || { echo "bench/run.sh: wrk gave no result for $sys $op c=$c" >&2; exit 1; }
      # The servers' CPU per answered request (the load generator's excluded).
      reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
      cpu_us=$(( reqs > 0 ? (t1 - t0) * 1000000 / clk_tck / reqs : 0 ))
      line="$line cpu_us=$cpu_us"
      echo "  $sys $op c=$c run $r: ${line#RESULT }" >&2
      printf '%s\t%s\t%s\t%s\t%s\n' "$sys" "$op" "$c" "$r" "${line#RESULT }" >>"$results"
    done
  done
}

preload() {  # preload SYSTEM PORT COUNTCMD...: until every key exists
  local sys=$1 port=$2; shift 2
  local n i
  for i in 1 2 3 4 5 6 7 8; do
    run_wrk "$sys" put 16 "$port" 3 seq >/dev/null
    n=$("$@" "$port" 2>/dev/null || echo 0)
    [ "$n" -ge 10000 ] && return 0
  done
  echo "bench/run.sh: $sys holds $n of 10000 keys after preloading" >&2
  exit 1
}

machine="$(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"

if [[ " $systems " == *" floor "* ]]; then
  say "floor: nginx answering a 2-byte body"
  fb=$(free_base 1)
  mkdir -p "$work/nginx/logs"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$fb; location / { return 200 "ok"; } }
}
EOF
  "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
  pids+=($!)
  sys_pids=($!)
  wait_until 10 curl -sf "http://127.0.0.1:$fb/kv/x" || { echo "bench/run.sh: nginx did not start" >&2; exit 1; }
  measure floor sget "$fb"
fi

if [[ " $systems " == *" raftkv "* ]]; then
  say "raftkv: 3 nodes"
  rk_base=$(free_base 3)
  mkdir -p "$work/raftkv"
  for i in 1 2 3; do rk_start_node "$i"; done
  sys_pids=("${rk_pid[1]}" "${rk_pid[2]}" "${rk_pid[3]}")
  wait_until 20 rk_leader || { echo "bench/run.sh: raftkv elected no leader" >&2; exit 1; }
  lp=$((rk_base + 1000 + $(rk_leader) - 1))
  preload raftkv "$lp" rk_keys
  for op in $ops; do measure raftkv "$op" "$lp"; done
  cp "$work/raftkv/node-1.log" "$work/raftkv-node-1.log" 2>/dev/null || true
fi

if [[ " $systems " == *" etcd "* ]]; then
  say "etcd $(etcd --version | sed -n 's/^etcd Version: //p'): 3 members"
  sys_pids=()
  et_start
  wait_until 30 et_leader_port || { echo "bench/run.sh: etcd elected no leader" >&2; exit 1; }
  ep=$(et_leader_port)
  preload etcd "$ep" et_keys
  for op in $ops; do measure etcd "$op" "$ep"; done
fi

# -- failover -------------------------------------------------------------------

failover_file="$work/failover.txt"
: >"$failover_file"
if [ "$do_failover" = 1 ] && [[ " $systems " == *" raftkv "* ]]; then
  say "failover: kill -9 the leader, time until the client's next write is acknowledged ($failover_trials trials)"
  api="127.0.0.1:$((rk_base + 1000)),127.0.0.1:$((rk_base + 1001)),127.0.0.1:$((rk_base + 1002))"
  for t in $(seq 1 "$failover_trials"); do
    wait_until 20 rk_leader || { echo "bench/run.sh: no leader before failover trial $t" >&2; exit 1; }
    "$client" --peers "$api" put failover "before-$t" >/dev/null
    l=$(rk_leader)
    sleep 0.$((RANDOM % 10))  # anywhere in the heartbeat cycle
    t0=$(date +%s%N)
    kill -9 "${rk_pid[$l]}"
    "$client" --peers "$api" --timeout-ms 20000 put failover "after-$t" >/dev/null
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    echo "  trial $t: leader $l killed, next write acknowledged after $ms ms" >&2
    echo "$ms" >>"$failover_file"
    wait "${rk_pid[$l]}" 2>/dev/null || true
    forget_pid "${rk_pid[$l]}"
    rk_start_node "$l"
    # The restarted node must be back before the next trial can kill anyone.
    wait_until 20 curl -sf "http://127.0.0.1:$((rk_base + 1000 + l - 1))/v1/status" || true
    sleep 1
  done
fi

# -- memory and restart -------------------------------------------------------------

memory_file="$work/memory.txt"
: >"$memory_file"
if [ "$do_memory" = 1 ]; then
  say "memory: one node, $memory_keys keys of 9 bytes with 100-byte values"
  mb=$(free_base 1)
  mdir="$work/memory-node"
  mem_flags=(--id 1 --peers "1=127.0.0.1:$mb" --headless --data-dir "$mdir" --log-file "$work/memory-node.log")
  "$server" "${mem_flags[@]}" </dev/null >/dev/null 2>&1 &
  mpid=$!
  pids+=($mpid)
  wait_until 20 sh -c "curl -s http://127.0.0.1:$((mb + 1000))/v1/status | grep -q '\"role\":\"leader\"'" ||
    { echo "bench/run.sh: the memory node did not lead" >&2; exit 1; }
  t0=$SECONDS
  n=0
  for _ in $(seq 1 40); do
    # Keys are written in order, so the count says where to go on from.
    BENCH_TARGET=raftkv BENCH_OP=put BENCH_ORDER=counter BENCH_KEYS="$memory_keys" BENCH_START="$n" \
      wrk -t1 -c64 -d10s --timeout 10s -s "$lua" "http://127.0.0.1:$((mb + 1000))" >/dev/null 2>&1 || true
    n=$(rk_keys $((mb + 1000)) || echo 0)
    [ "$n" -ge "$memory_keys" ] && break
  done
  load_s=$((SECONDS - t0))
  [ "$n" -ge "$memory_keys" ] || { echo "bench/run.sh: the memory node holds $n of $memory_keys keys" >&2; exit 1; }
  rss_kb=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$mpid/status")
  hwm_kb=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$mpid/status")
  raw=$((memory_keys * (9 + 100)))
  echo "  $n keys loaded in ${load_s}s; RSS $((rss_kb / 1024)) MiB for $((raw / 1048576)) MiB of keys and values" >&2
  restarts=""
  for r in 1 2 3; do
    kill -TERM "$mpid"
    wait "$mpid" 2>/dev/null || true
    forget_pid "$mpid"
    # Measured stopped: a running node's open WAL segment is preallocated.
    if [ "$r" = 1 ]; then disk_kb=$(du -sk "$mdir" | cut -f1); fi
    last=$(printf 'k%08d' $((memory_keys - 1)))
    t0=$(date +%s%N)
    "$server" "${mem_flags[@]}" </dev/null >/dev/null 2>&1 &
    mpid=$!
    pids+=($mpid)
    wait_until 60 curl -sf "http://127.0.0.1:$((mb + 1000))/v1/kv/$last?consistency=stale" ||
      { echo "bench/run.sh: the memory node did not come back" >&2; exit 1; }
    t1=$(date +%s%N)
    restarts+="${restarts:+,}$(( (t1 - t0) / 1000000 ))"
    echo "  restart $r: ready (serves the last key) after $(( (t1 - t0) / 1000000 )) ms" >&2
  done
  rss2_kb=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$mpid/status")
  printf 'keys=%s raw_bytes=%s rss_kb=%s peak_rss_kb=%s rss_after_restart_kb=%s disk_kb=%s load_s=%s restarts_ms=%s\n' \
    "$n" "$raw" "$rss_kb" "$hwm_kb" "$rss2_kb" "$disk_kb" "$load_s" "$restarts" >"$memory_file"
fi

# -- report -----------------------------------------------------------------------

say "report"
report_args=(--results "$results" --failover "$failover_file" --memory "$memory_file" --machine "$machine"
  --duration "$duration" --runs "$runs")
if [ "$write_docs" = 1 ]; then
  python3 "$root/bench/report.py" "${report_args[@]}" --doc "$root/docs/benchmarks.md" --img "$root/docs/img"
else
  python3 "$root/bench/report.py" "${report_args[@]}"
fi
