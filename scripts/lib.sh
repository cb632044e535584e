# Shared by scripts/test, scripts/demo and scripts/bench: install what is
# missing (Debian 12 packages only), configure and build.
# shellcheck shell=bash

ELDERCARE_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev capnproto libcapnp-dev libssl-dev openssl
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  jq xxd
)

# Installs the packages that are not installed yet, non-interactively.
ensure_packages() {
  local missing=()
  for p in "${ELDERCARE_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# configure_and_build BUILD_DIR [extra cmake args...]
configure_and_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2
  fi
  cmake --build "$dir" -j "$(nproc)" >&2
}
