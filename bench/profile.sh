#!/usr/bin/env bash
# bench/profile.sh: where a 3-node raftkv cluster's CPU goes under one wrk
# load, by kind of work (perf, system-wide, grouped by bench/cpu_profile.py).
#
#   bench/profile.sh                          # PUT, 64 connections, build-release
#   bench/profile.sh --op get --conns 16
#   bench/profile.sh --server /old/build-release/tools/raftkv-server/raftkv-server
#
# Prints the requests/s, the cluster's CPU µs per request and the table of
# categories. Needs perf (linux-perf; installed when missing) and a release
# build (bench/run.sh makes one). Servers bind 127.0.0.1 on free ports, keep
# their data in a temp dir, and are stopped by PID on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
server="$root/build-release/tools/raftkv-server/raftkv-server"
op=put
conns=64
seconds=8

while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --op) op="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/profile.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$server" ] || { echo "bench/profile.sh: no server at $server (run bench/run.sh --quick once)" >&2; exit 1; }

# shellcheck source=../scripts/lib/deps.sh
. "$root/scripts/lib/deps.sh"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v perf >/dev/null || need+=(linux-perf)
[ ${#need[@]} -eq 0 ] || raftkv_apt "${need[@]}"

work=$(mktemp -d /tmp/raftkv-profile-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=""
for _ in $(seq 1 200); do
  b=$((20000 + RANDOM % 20000))
  if port_free "$b" && port_free $((b + 1)) && port_free $((b + 2)) &&
    port_free $((b + 1000)) && port_free $((b + 1001)) && port_free $((b + 1002)); then
    base=$b
    break
  fi
done
[ -n "$base" ] || { echo "bench/profile.sh: no free ports on 127.0.0.1" >&2; exit 1; }
peers="1=127.0.0.1:$base,2=127.0.0.1:$((base + 1)),3=127.0.0.1:$((base + 2))"
for i in 1 2 3; do
  "$server" --id "$i" --peers "$peers" --headless --data-dir "$work/node-$i" --log-file "$work/node-$i.log" \
    </dev/null >/dev/null 2>&1 &
  pids+=($!)
done
leader=""
for _ in $(seq 1 200); do
  for i in 0 1 2; do
    if curl -s --max-time 1 "http://127.0.0.1:$((base + 1000 + i))/v1/status" | grep -q '"role":"leader"'; then
      leader=$((base + 1000 + i))
    fi
  done
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { echo "bench/profile.sh: no leader" >&2; exit 1; }

lua="$root/bench/wrk/kv.lua"
BENCH_OP=put BENCH_ORDER=seq wrk -t1 -c16 -d4s -s "$lua" "http://127.0.0.1:$leader" >/dev/null

ticks() {
  local p t=0
  for p in "${pids[@]}"; do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
  echo "$t"
}
t=1
[ "$conns" -ge 16 ] && t=2
c0=$(ticks)
perf record -a -F 999 -o "$work/perf.data" -- sleep "$seconds" >"$work/perf.log" 2>&1 &
perf_pid=$!
line=$(BENCH_OP=$op wrk -t"$t" -c"$conns" -d"${seconds}s" -s "$lua" "http://127.0.0.1:$leader" | grep '^RESULT')
wait "$perf_pid" || true
c1=$(ticks)
[ -n "$line" ] || { echo "bench/profile.sh: wrk gave no result" >&2; exit 1; }
reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
[ "$reqs" -gt 0 ] || { echo "bench/profile.sh: no request was answered: ${line#RESULT }" >&2; exit 1; }
cpu_us=$(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / reqs ))
if [ ! -s "$work/perf.data" ]; then
  echo "bench/profile.sh: perf recorded nothing: $(tail -1 "$work/perf.log")" >&2
  echo "  (system-wide sampling needs root or: sysctl kernel.perf_event_paranoid=-1)" >&2
  exit 1
fi
echo "$op, $conns connections: ${line#RESULT }"
echo "cluster CPU per request: $cpu_us us (3 servers, every thread; wrk not counted)"
perf report -i "$work/perf.data" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null >"$work/report.txt"
python3 "$root/bench/cpu_profile.py" --cpu-us "$cpu_us" raftkv-server <"$work/report.txt"
# RAFTKV_PROFILE_KEEP=FILE keeps perf's symbol table for a closer look.
[ -z "${RAFTKV_PROFILE_KEEP:-}" ] || cp "$work/report.txt" "$RAFTKV_PROFILE_KEEP"
