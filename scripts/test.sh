#!/usr/bin/env bash
# scripts/test.sh: build raftkv and run every test; ends with "N passed, N failed".
#
# Installs missing system packages (apt-get; sudo when not root), configures
# build/ once, builds incrementally, runs the doctest programs through
# `meson test`, then installs into a scratch prefix and builds examples/consumer
# against it with pkg-config. --sanitize also builds build-asan/ with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs the tests there.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/test.sh [--sanitize] [--help]

  --sanitize   also run every test in an ASan+UBSan build (build-asan/)
  --help       show this help

Environment: RAFTKV_SIM_SEEDS=K sweeps K simulator seeds (default 10000;
2000 in the sanitizer build), RAFTKV_SEED=N replays one seed.
USAGE
}

sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "scripts/test.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=scripts/lib/deps.sh
. scripts/lib/deps.sh
raftkv_ensure_deps

passed=0
failed=0
report=$(mktemp)
trap 'rm -f "$report"' EXIT

# configure DIR [meson options...]: once, then meson reconfigures by itself.
configure() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --wrap-mode=nodownload "$@" >/dev/null
  fi
}

# suite DIR LABEL: build and run meson test; add the doctest counts.
suite() {
  local dir=$1 label=$2 counts
  echo "== $label: building in $dir/"
  # Under pipefail the pipeline's status is ninja's: grep finding no line is not a failure.
  if ! ninja -C "$dir" | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; }; then
    echo "== $label: build FAILED"; failed=$((failed + 1)); return
  fi
  echo "== $label: testing"
  meson test -C "$dir" --print-errorlogs --no-rebuild | grep -E '^ *[0-9]+/[0-9]+ |^Ok:|^Fail:|^Timeout:|FAIL|ERROR' || true
  counts=$(python3 scripts/lib/count_tests.py "$dir/meson-logs/testlog.json" "$label")
  echo "$counts" | tail -n +2 >>"$report"
  read -r p f <<<"$(echo "$counts" | head -1)"
  passed=$((passed + p))
  failed=$((failed + f))
}

configure build
suite build "tests"

# The installed library and its pkg-config file serve a program built outside Meson.
echo "== pkg-config consumer: install into a scratch prefix and build examples/consumer"
stage=$(mktemp -d)
if meson install -C build --destdir "$stage" --quiet >/dev/null &&
   pcdir=$(dirname "$(find "$stage" -name raftkv.pc | head -1)") &&
   flags=$(PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs raftkv) &&
   c++ -std=c++20 -o "$stage/consumer" examples/consumer/main.cpp $flags &&
   out=$(LD_LIBRARY_PATH="$(dirname "$(find "$stage" -name 'libraftkv.so' | head -1)")" "$stage/consumer") &&
   [ "$out" = "applied 3 commands; state: greeting=hello name=raft" ]; then
  echo "pkg-config consumer: ok ($out)"
  passed=$((passed + 1))
else
  echo "pkg-config consumer: FAILED"
  failed=$((failed + 1))
fi
rm -rf "$stage"

if [ "$sanitize" -eq 1 ]; then
  configure build-asan -Db_sanitize=address,undefined -Db_lundef=false
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  RAFTKV_SIM_SEEDS=${RAFTKV_SIM_SEEDS:-2000} suite build-asan "sanitizers"
fi

echo
cat "$report"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
