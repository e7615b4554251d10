# scripts/lib/deps.sh: installs the system packages raftkv needs, if missing.
# Sourced by scripts/test.sh and scripts/playground.sh. Debian 12 and
# Ubuntu 24.04; apt-get, with sudo when not root.

raftkv_apt() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "raftkv: missing packages ($*) and no sudo to install them; install them as root" >&2
      return 1
    fi
    sudo="sudo"
  fi
  if [ -z "${RAFTKV_APT_UPDATED:-}" ]; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    RAFTKV_APT_UPDATED=1
  fi
  echo "raftkv: installing $*" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Boost >= 1.81: Debian 12 packages it as libboost1.81-dev (its default is
# 1.74); Ubuntu 24.04's default libboost-dev is 1.83.
raftkv_boost_ok() {
  local v f
  v=$(sed -n 's/^#define BOOST_VERSION \([0-9]*\)/\1/p' /usr/include/boost/version.hpp 2>/dev/null)
  { [ -n "$v" ] && [ "$v" -ge 108100 ]; } || return 1
  # A loop, not `ls | grep`: under pipefail a missing path fails the pipe.
  for f in /usr/lib/*/libboost_program_options.so /usr/lib/libboost_program_options.so; do
    [ -e "$f" ] && return 0
  done
  return 1
}

raftkv_boost_packages() {
  local cand
  [ -n "${RAFTKV_APT_UPDATED:-}" ] || raftkv_apt_update_only
  cand=$(apt-cache policy libboost-dev 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  if [ -n "$cand" ] && dpkg --compare-versions "$cand" ge 1.81; then
    echo "libboost-dev libboost-program-options-dev"
  else
    echo "libboost1.81-dev libboost-program-options1.81-dev"
  fi
}

raftkv_apt_update_only() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  RAFTKV_APT_UPDATED=1
}

# Installs whatever of the build and test dependencies is missing (tmux and
# curl: the playground, its lessons and their tests).
raftkv_ensure_deps() {
  local missing=() p
  for p in meson ninja-build g++ pkg-config python3 nlohmann-json3-dev doctest-dev libncurses-dev ccache tmux curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ! raftkv_boost_ok; then
    # shellcheck disable=SC2207
    missing+=($(raftkv_boost_packages))
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    raftkv_apt "${missing[@]}"
  fi
}
