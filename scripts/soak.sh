#!/usr/bin/env bash
# scripts/soak.sh: the long run of the linearizability and durability test
# (tests/lin/nemesis_test.cpp): the same clients and nemesis as the test
# command's 30-second run, for as long as asked, then the same checks.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/soak.sh [MINUTES] [--clients N] [--keys N] [--seed N]

  MINUTES       how long the nemesis runs (default 10)
  --clients N   concurrent clients (default 6)
  --keys N      keys they share (default 3)
  --seed N      replay one run's choices (printed at its start)

Builds build/ like scripts/test.sh, then runs the lin_nemesis test program;
its summary lists the faults injected, the operations checked, the
violations found and the acknowledged writes lost (both must be 0).
USAGE
}

minutes=10
clients=6
keys=3
seed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) clients="${2:?}"; shift 2 ;;
    --keys) keys="${2:?}"; shift 2 ;;
    --seed) seed="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *[!0-9]*|'') echo "scripts/soak.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    *) minutes="$1"; shift ;;
  esac
done

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/deps.sh
. scripts/lib/deps.sh
raftkv_ensure_deps
[ -f build/build.ninja ] || meson setup build --wrap-mode=nodownload >/dev/null
ninja -C build tests/test_lin_nemesis tools/raftkv-server/raftkv-server | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; }
export RAFTKV_SERVER="$PWD/build/tools/raftkv-server/raftkv-server"
export RAFTKV_LIN_SECONDS=$((minutes * 60)) RAFTKV_LIN_CLIENTS="$clients" RAFTKV_LIN_KEYS="$keys"
[ -z "$seed" ] || export RAFTKV_LIN_SEED="$seed"
exec build/tests/test_lin_nemesis --duration=true
