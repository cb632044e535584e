# Shared by scripts/test, scripts/demo and scripts/bench: install what is
# missing (Debian 12 packages only), configure and build.
# shellcheck shell=bash

ELDERCARE_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev capnproto libcapnp-dev libssl-dev openssl
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev libabsl-dev
  jq xxd
)

# The sanitizer and fuzzing build (build-san): clang with libFuzzer.
ELDERCARE_SANITIZER_PACKAGES=(clang libclang-rt-14-dev)

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

# build_thread_sanitizer BUILD_DIR TARGET...: clang, ThreadSanitizer, only
# the named test binaries (the ones that run writers concurrently).
build_thread_sanitizer() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DELDERCARE_TSAN=ON -DELDERCARE_BUILD_BENCHMARKS=OFF >&2
  fi
  cmake --build "$dir" -j "$(nproc)" --target "$@" >&2
}

# configure_sanitizer_build BUILD_DIR: clang, AddressSanitizer +
# UndefinedBehaviorSanitizer on everything, the fuzz targets as libFuzzer
# binaries; no benchmarks (sanitized timings mean nothing).
configure_sanitizer_build() {
  local dir=$1
  if [ ! -f "$dir/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DELDERCARE_SANITIZE=ON -DELDERCARE_FUZZ=ON -DELDERCARE_BUILD_BENCHMARKS=OFF >&2
  fi
  cmake --build "$dir" -j "$(nproc)" >&2
}
