#!/usr/bin/env bash
# scripts/lib/playground-pane.sh LABEL PROGRAM ARGS...: what one playground
# pane runs. It starts PROGRAM (a raftkv-server node or raftkv-client) in the
# foreground, so its TUI gets the keys; when the program stops (q, Ctrl+C, a
# crash) the pane stays and offers to start it again with the same flags and
# data directory, so a stopped node can rejoin and catch up.
#
# RAFTKV_PLAYGROUND_LIMIT=S (tests): SIGKILL the program after S seconds,
# whatever happens to the test that started it.
label=$1
shift

# Ctrl+C at the prompt below must not close the pane. A handler, not an
# ignored signal: handlers are reset when the program is exec'ed.
trap 'echo' INT

run() {
  if [ -n "${RAFTKV_PLAYGROUND_LIMIT:-}" ]; then
    timeout --foreground -s KILL "$RAFTKV_PLAYGROUND_LIMIT" "$@"
  else
    "$@"
  fi
}

while true; do
  run "$@"
  rc=$?
  printf '\n%s stopped (exit code %d).\n' "$label" "$rc"
  case "$label" in
    node*) printf 'Press Enter to start it again (same data: it rejoins and catches up),\n' ;;
    *) printf 'Press Enter to start it again,\n' ;;
  esac
  printf 'or Ctrl+D to close this pane.\n'
  while true; do
    read -r _
    rc=$?
    [ "$rc" -eq 0 ] && break        # Enter
    [ "$rc" -gt 128 ] && continue   # interrupted by Ctrl+C: ask again
    exit 0                          # end of input (Ctrl+D)
  done
done
