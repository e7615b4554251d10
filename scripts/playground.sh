#!/usr/bin/env bash
# scripts/playground.sh: one command from a fresh clone to a running raftkv
# cluster in tmux: three (or five) server TUIs and the client TUI, with a
# one-screen guide. Installs missing packages (apt-get; sudo when not root),
# builds raftkv-server and raftkv-client incrementally in build/, then opens
# or re-attaches the tmux session "raftkv" on its own tmux server
# (`tmux -L raftkv-playground`), so your own tmux settings and sessions are
# left alone.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/playground.sh [start] [OPTIONS]   open the playground (or re-attach to it)
       scripts/playground.sh stop                stop every node and the client
       scripts/playground.sh wipe                stop, then delete the playground's data

options:
  --nodes N        3 or 5 nodes (default 3)
  --slow           slow motion: 500 ms ticks (heartbeat every 1.5 s, elections
                   after 5-10 s) and every peer message held 400 ms, so each
                   step can be followed on screen
  --detach         start in the background; attach later with
                   tmux -L raftkv-playground attach
  --base-port P    node N talks Raft on P+N-1 and serves HTTP on P+N-1+1000
                   (default 6001: ports 6001.. and 7001..)
  --data-dir DIR   the nodes' data (default: data/playground in the checkout)
  --size WxH       the session's size with --detach (default 200x50)
  -h, --help       this help

Options are read when the playground starts; to change them, stop it first.
The nodes keep their data between runs; `wipe` starts over from an empty log.
Lessons to follow in it: docs/lessons/README.md.

Environment (for tests): RAFTKV_SERVER and RAFTKV_CLIENT use these binaries
instead of building; RAFTKV_PLAYGROUND_TMUX=PATH puts the tmux server's
socket at PATH; RAFTKV_PLAYGROUND_LIMIT=S kills every program after S seconds;
RAFTKV_PLAYGROUND_SHELL is the shell window's command (default: bash).
USAGE
}

die_usage() {
  echo "scripts/playground.sh: $1" >&2
  echo "usage: scripts/playground.sh [start|stop|wipe] [--nodes 3|5] [--slow] [--detach] ... (--help for more)" >&2
  exit 2
}

action=start
nodes=3
slow=0
detach=0
base_port=6001
data_dir=""
size=""
given=""  # the layout options given, for "already running" below
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes*|--slow|--base-port*|--size*) given+=" ${1%%=*}" ;;
  esac
  case "$1" in
    start|stop|wipe) action=$1 ;;
    --nodes) [ $# -ge 2 ] || die_usage "--nodes needs a value"; nodes=$2; shift ;;
    --nodes=*) nodes=${1#*=} ;;
    --slow) slow=1 ;;
    --detach) detach=1 ;;
    --base-port) [ $# -ge 2 ] || die_usage "--base-port needs a value"; base_port=$2; shift ;;
    --base-port=*) base_port=${1#*=} ;;
    --data-dir) [ $# -ge 2 ] || die_usage "--data-dir needs a value"; data_dir=$2; shift ;;
    --data-dir=*) data_dir=${1#*=} ;;
    --size) [ $# -ge 2 ] || die_usage "--size needs a value"; size=$2; shift ;;
    --size=*) size=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
  shift
done
case "$nodes" in 3|5) ;; *) die_usage "--nodes must be 3 or 5, not '$nodes'" ;; esac
case "$base_port" in ''|*[!0-9]*) die_usage "--base-port must be a number" ;; esac
if [ "$base_port" -lt 1024 ] || [ "$base_port" -gt $((65535 - 1000 - nodes)) ]; then
  die_usage "--base-port must be in 1024..$((65535 - 1000 - nodes))"
fi
if [ -n "$size" ] && ! [[ "$size" =~ ^[0-9]+x[0-9]+$ ]]; then
  die_usage "--size must look like 200x50"
fi

# A relative --data-dir is relative to where the command was typed.
case "$data_dir" in ''|/*) ;; *) data_dir="$PWD/$data_dir" ;; esac
cd "$(dirname "$0")/.."
root=$(pwd)
data_dir_given=1
[ -n "$data_dir" ] || { data_dir="$root/data/playground"; data_dir_given=0; }

session=raftkv
if [ -n "${RAFTKV_PLAYGROUND_TMUX:-}" ]; then
  tmux_cmd=(tmux -S "$RAFTKV_PLAYGROUND_TMUX")
  attach_hint="tmux -S $RAFTKV_PLAYGROUND_TMUX attach -t $session"
else
  tmux_cmd=(tmux -L raftkv-playground)
  attach_hint="tmux -L raftkv-playground attach -t $session"
fi
t() { "${tmux_cmd[@]}" "$@"; }
running() { command -v tmux >/dev/null 2>&1 && t has-session -t "$session" 2>/dev/null; }

# -- stop and wipe ---------------------------------------------------------

# The PIDs of the programs in the node and client panes (not the shell
# window's, where this script may be running).
program_pids() {
  local pane role child
  t list-panes -s -t "$session" -F '#{pane_pid} #{@raftkv}' 2>/dev/null |
    while read -r pane role; do
      [ "$role" = shell ] && continue
      for child in $(pgrep -P "$pane" 2>/dev/null || true); do
        echo "$child"
        pgrep -P "$child" 2>/dev/null || true  # the program under timeout (tests)
      done
    done
}

# Stops the nodes and the client (SIGTERM: a node stops cleanly, exit 0),
# waits up to 10 s for them, then `then` (wipe's delete) runs, then the tmux
# server goes. Killing it also ends the shell window, which may be running
# this script: every message is printed before that.
stop_playground() {
  local then=${1:-true}
  if ! running; then
    echo "the playground is not running"
    "$then"
    return 0
  fi
  local pids panes pid
  pids=$(program_pids)
  panes=$(t list-panes -s -t "$session" -F '#{pane_pid}' 2>/dev/null || true)
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  wait_gone 100 $pids
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  echo "stopped the playground's nodes and client"
  "$then"
  trap '' HUP
  t kill-server >/dev/null 2>&1 || true
  # The panes' own processes end on the hangup; wait for them, so that when
  # stop returns nothing of the playground runs any more.
  wait_gone 30 $panes
}

# wait_gone N PIDS...: polls every 0.1 s, at most N times, until none of PIDS runs.
wait_gone() {
  local tries=$1 pid i alive
  shift
  for i in $(seq 1 "$tries"); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.1
  done
}

wipe_data() {
  # Only what the playground made: node-N directories and its guide.
  rm -rf "$data_dir"/node-[0-9] "$data_dir/guide.txt"
  rmdir "$data_dir" 2>/dev/null || true
  echo "wiped the playground's data ($data_dir)"
}

keep_data() {
  echo "its data stays in $data_dir (scripts/playground.sh wipe deletes it)"
}

# stop and wipe act on the running playground's data unless told otherwise.
if [ "$action" != start ] && [ "$data_dir_given" -eq 0 ] && running; then
  running_dir=$(t show-environment -g RAFTKV_PLAYGROUND_DATA 2>/dev/null | sed -n 's/^RAFTKV_PLAYGROUND_DATA=//p')
  [ -z "$running_dir" ] || data_dir=$running_dir
fi

case "$action" in
  stop) stop_playground keep_data; exit 0 ;;
  wipe) stop_playground wipe_data; exit 0 ;;
esac

# -- start -----------------------------------------------------------------

if running; then
  echo "the playground is already running (scripts/playground.sh stop ends it)"
  running_opts=$(t show-environment -g RAFTKV_PLAYGROUND_OPTS 2>/dev/null | sed -n 's/^RAFTKV_PLAYGROUND_OPTS=//p')
  if [ -n "$given" ] && [ "$running_opts" != "$nodes $slow $base_port" ]; then
    echo "note:$given apply only when it starts: run scripts/playground.sh stop first to change them"
  fi
  if [ "$detach" -eq 1 ]; then echo "attach with: $attach_hint"; exit 0; fi
  if [ -t 0 ] && [ -t 1 ]; then exec env -u TMUX "${tmux_cmd[@]}" attach -t "$session"; fi
  echo "no terminal here: attach from one with: $attach_hint"
  exit 0
fi

if [ -n "${RAFTKV_SERVER:-}" ] && [ -n "${RAFTKV_CLIENT:-}" ]; then
  server=$RAFTKV_SERVER
  client=$RAFTKV_CLIENT
else
  # shellcheck source=scripts/lib/deps.sh
  . scripts/lib/deps.sh
  raftkv_ensure_deps
  if [ ! -f build/build.ninja ]; then
    echo "configuring build/ (once)"
    meson setup build --wrap-mode=nodownload >/dev/null
  fi
  echo "building raftkv-server and raftkv-client in build/ (the first build takes a few minutes, later ones seconds)"
  # Under pipefail the pipeline's status is ninja's: grep finding no line is not a failure.
  if ! ninja -C build tools/raftkv-server/raftkv-server tools/raftkv-client/raftkv-client |
    { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; }; then
    echo "scripts/playground.sh: the build failed (see above)" >&2
    exit 1
  fi
  server=$root/build/tools/raftkv-server/raftkv-server
  client=$root/build/tools/raftkv-client/raftkv-client
fi

peers=""
apis=""
for i in $(seq 1 "$nodes"); do
  peers+="${peers:+,}$i=127.0.0.1:$((base_port + i - 1))"
  apis+="${apis:+,}127.0.0.1:$((base_port + i - 1 + 1000))"
done
# Snapshots every 200 entries, 20 kept behind: lesson 7 sees one after a few dozen writes.
server_flags=(--snapshot-entries 200 --compact-keep 20)
client_flags=(--peers "$apis")
tick_note="100 ms ticks: heartbeats every 0.3 s, elections after 1-2 s of silence"
if [ "$slow" -eq 1 ]; then
  server_flags+=(--tick-ms 500 --delay-ms 400)
  client_flags+=(--timeout-ms 60000)
  tick_note="slow motion: 500 ms ticks (heartbeats every 1.5 s, elections after 5-10 s), messages held 400 ms"
fi

quote_words() {  # the words as a command line, quoted only where a shell needs it
  local w out=""
  for w in "$@"; do
    if [[ "$w" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+="$w "; else out+="'${w//\'/\'\\\'\'}' "; fi
  done
  printf '%s' "${out% }"
}
node_command() {  # node_command ID: the command line of node ID
  quote_words "$server" --id "$1" --peers "$peers" --data-dir "$data_dir/node-$1" "${server_flags[@]}"
}
client_command() {
  quote_words "$client" "${client_flags[@]}"
}

print_by_hand() {
  echo "Start the pieces by hand, each in its own terminal (from $root):"
  local i
  for i in $(seq 1 "$nodes"); do echo "  $(node_command "$i")"; done
  echo "  $(client_command)"
  echo "Node N talks Raft on port $base_port+N-1 and serves HTTP on that + 1000, e.g."
  echo "  curl -L -X PUT --data hello http://127.0.0.1:$((base_port + 1000))/v1/kv/greeting"
}

if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux is not installed (apt-get install tmux), so there is no playground session."
  print_by_hand
  exit 1
fi
if [ "$detach" -eq 0 ] && ! { [ -t 0 ] && [ -t 1 ]; }; then
  echo "no terminal here to show the playground in."
  echo "Run scripts/playground.sh --detach to start it in the background, then from a terminal: $attach_hint"
  print_by_hand
  exit 1
fi

# Every port must be free: a node of another cluster on them would refuse us.
busy=""
for i in $(seq 1 "$nodes"); do
  for p in $((base_port + i - 1)) $((base_port + i - 1 + 1000)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy+=" $p"; fi
  done
done
if [ -n "$busy" ]; then
  echo "scripts/playground.sh: port(s)$busy on 127.0.0.1 are in use (raftkv nodes started by hand?);" >&2
  echo "stop them, or pick other ports with --base-port (e.g. --base-port 16001)" >&2
  exit 1
fi

mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd)

# The layout: four (six) panes when each server pane gets at least the 60x16
# its TUI needs (plus a title line), else one window per program.
if [ -n "$size" ]; then
  width=${size%x*}
  height=${size#*x}
elif [ "$detach" -eq 0 ]; then
  read -r height width < <(stty size </dev/tty)
else
  width=200
  height=50
fi
rows=2
[ "$nodes" -eq 5 ] && rows=3
layout=panes
if [ "$width" -lt 121 ] || [ "$height" -lt $((rows * 17 + 1)) ]; then layout=windows; fi

pane_cmd() {  # pane_cmd LABEL COMMAND...: the pane wrapper around a command line
  printf '%q ' bash "$root/scripts/lib/playground-pane.sh" "$1"
  shift
  printf '%s' "$*"
}

# The one-screen guide, with this playground's ports and layout.
guide=$data_dir/guide.txt
{
  echo " raftkv playground: $nodes nodes and a smart client"
  echo " ($tick_note)"
  if [ -n "${TMUX:-}" ] && [ "$detach" -eq 0 ]; then
    echo " Nested in your own tmux: press Ctrl-b twice to reach this one's keys."
  else
    echo
  fi
  if [ "$layout" = panes ]; then
    echo " Panes: node 1..$nodes, each a Raft node's live state, and the client."
    echo " Click a pane (or Ctrl-b then an arrow) to type in it; Ctrl-b z zooms."
  else
    echo " Windows: Ctrl-b 1..$nodes shows node 1..$nodes, Ctrl-b $((nodes + 1)) the client,"
    echo " Ctrl-b $((nodes + 2)) a shell; Ctrl-b n goes to the next window."
  fi
  echo
  echo " Try first:"
  echo "  1. In the client, type  put greeting hello  and Enter. The entry shows"
  echo "     in every node's Log (● applied) and State machine. (--slow: step by step)"
  echo "  2. In the leader's pane press Ctrl+C: it stops. In 1-2 s another node"
  echo "     is LEADER in a higher term. In the client: get greeting. Its trace"
  echo "     shows the hop that failed. Enter in the stopped pane restarts it."
  echo "  3. In a node press ? for its keys: i isolate, p pause, x N cut a link,"
  echo "     t N transfer leadership, c campaign, : put/get/status."
  echo
  echo " Lessons, one Raft idea each: docs/lessons/README.md"
  echo " A shell for curl and raftkv-client: window 'shell' (Ctrl-b w lists all)"
  echo " Node 1's API: http://127.0.0.1:$((base_port + 1000))/v1/status"
  echo " This guide again: Ctrl-b g    Leave (nodes keep running): Ctrl-b d"
  echo " Stop: scripts/playground.sh stop     Start over: ... wipe"
} >"$guide"
# The guide in a popup, 82x24, or the whole terminal when that is smaller
# (tmux refuses a popup larger than the client). The path comes from the
# server's environment, so no quoting of it is needed here.
# On a small terminal the guide scrolls in less (when there is one).
show="-T ' guide: Enter closes it ' -E \"sh -c 'cat \\\"\\\$RAFTKV_PLAYGROUND_DATA/guide.txt\\\"; read -r _'\""
scroll="-T ' guide: arrows scroll, q closes it ' -E \"sh -c 'less -S \\\"\\\$RAFTKV_PLAYGROUND_DATA/guide.txt\\\"'\""
command -v less >/dev/null 2>&1 || scroll=$show
popup="if-shell -F '#{||:#{e|<:#{client_width},82},#{e|<:#{client_height},24}}'"
popup+=" { display-popup -w 100% -h 100% $scroll } { display-popup -w 82 -h 24 $show }"

t -f /dev/null new-session -d -s "$session" -x "$width" -y "$height" -n tmp
t set-option -g mouse on >/dev/null
t set-option -g history-limit 5000 >/dev/null
t set-option -g pane-border-status top >/dev/null
t set-option -g pane-border-format ' #{pane_title} ' >/dev/null
t set-option -g status-right ' Ctrl-b g: guide ' >/dev/null
t set-option -g escape-time 10 >/dev/null
t set-option -g base-index 1 >/dev/null  # Ctrl-b 1 is node 1 when each node has a window
t bind-key g "$popup"
t set-environment -g RAFTKV_PLAYGROUND_DATA "$data_dir"
t set-environment -g RAFTKV_PLAYGROUND_OPTS "$nodes $slow $base_port"
if [ -n "${RAFTKV_PLAYGROUND_LIMIT:-}" ]; then t set-environment -g RAFTKV_PLAYGROUND_LIMIT "$RAFTKV_PLAYGROUND_LIMIT"; fi
export TERM=${TERM:-xterm-256color}

# open_pane ROLE TITLE COMMAND: a pane (or window) running COMMAND; ROLE
# is stored as the pane option @raftkv so scripts and tests can find it.
first=1
open_pane() {
  local role=$1 title=$2 cmd=$3 id
  if [ "$layout" = panes ]; then
    if [ "$first" -eq 1 ]; then
      id=$(t new-window -P -F '#{pane_id}' -n cluster -c "$root" "$cmd")
    else
      id=$(t split-window -P -F '#{pane_id}' -t "$session:cluster" -c "$root" "$cmd")
      t select-layout -t "$session:cluster" tiled >/dev/null
    fi
  else
    id=$(t new-window -P -F '#{pane_id}' -n "$role" -c "$root" "$cmd")
  fi
  first=0
  t select-pane -t "$id" -T "$title"
  t set-option -p -t "$id" @raftkv "$role" >/dev/null
}

for i in $(seq 1 "$nodes"); do
  open_pane "node$i" "node $i · Raft 127.0.0.1:$((base_port + i - 1)) · HTTP :$((base_port + i - 1 + 1000))" \
    "$(pane_cmd "node $i" "$(node_command "$i")")"
done
open_pane client "client · raftkv-client $(printf '%s ' "${client_flags[@]}")" "$(pane_cmd client "$(client_command)")"
shell_id=$(t new-window -P -F '#{pane_id}' -n shell -c "$root" \
  -e "RAFTKV_PEERS=$apis" \
  "export PATH=$(printf '%q' "$(dirname "$server"):$(dirname "$client")"):\$PATH; printf '%s\n' 'A shell beside the playground: raftkv-client and raftkv-server are on PATH,' \
     'and RAFTKV_PEERS=$apis points raftkv-client at its nodes.' \
     'Try: curl http://127.0.0.1:$((base_port + 1000))/v1/status' \
     '     raftkv-client --trace get greeting' ''; exec ${RAFTKV_PLAYGROUND_SHELL:-bash}")
t select-pane -t "$shell_id" -T "shell"
t set-option -p -t "$shell_id" @raftkv shell >/dev/null
t kill-window -t "$session:tmp"
t move-window -r -t "$session" >/dev/null 2>&1 || true
t select-window -t "$session:1"
# The guide pops up over the panes when someone first attaches.
t set-hook -t "$session" client-attached "$popup ; set-hook -u -t $session client-attached"

echo "the playground is up: $nodes nodes ($layout), data in $data_dir"
if [ "$detach" -eq 1 ]; then
  cat "$guide"
  echo
  echo "attach with: $attach_hint"
  exit 0
fi
exec env -u TMUX "${tmux_cmd[@]}" attach -t "$session"
