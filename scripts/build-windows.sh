#!/usr/bin/env bash
# build-windows.sh DIR [cmake options...]: cross-build capsid for 64-bit
# Windows into DIR with Debian 12's mingw-w64.
#
# Windows builds of libuv, jansson, mimalloc and cmocka are not packaged in
# Debian, and only Debian's registry is reachable, so this script builds them
# from Debian's own source packages (apt-get source) as static libraries into
# DIR/deps/prefix (or $CAPSID_WIN_DEPS when set, to share them between build
# trees). Nothing is vendored in the repository. A second run reuses them.
#
# Needs root (or sudo) only when a package or the deb-src entry is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: build-windows.sh DIR [cmake options...]}
shift
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
deps=${CAPSID_WIN_DEPS:-$dir/deps}
prefix=$deps/prefix
jobs=$(nproc)
T0=$(date +%s)
step() { echo "[build-windows +$(( $(date +%s) - T0 ))s] $*"; }

# The Windows tool chain is installed here, not by bootstrap.sh, so that
# Linux-only users do not pay for 1.5 GB of mingw-w64 and Wine.
packages=(
  gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine
  cmake make pkg-config dpkg-dev xz-utils
)
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# apt-get source needs deb-src entries. They are derived from the machine's
# own deb entries (same mirror, suites and keys), never a host name written
# into this repository.
ensure_deb_src() {
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list \
      /etc/apt/sources.list.d/; then
    return 1
  fi
  step "adding deb-src entries derived from the existing apt sources"
  local out=/etc/apt/sources.list.d/capsid-deb-src.sources
  local list=/etc/apt/sources.list.d/capsid-deb-src.list
  # deb822 stanzas: copy every stanza whose Types has "deb", as deb-src.
  awk 'BEGIN { RS = ""; ORS = "\n\n" }
       /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ {
         gsub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, "");
         print }' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | "${sudo_cmd[@]}" tee "$out" >/dev/null || true
  # one-line format
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n 's/^deb \(.*\)$/deb-src \1/p' \
    | "${sudo_cmd[@]}" tee "$list" >/dev/null || true
  [ -s "$out" ] || "${sudo_cmd[@]}" rm -f "$out"
  [ -s "$list" ] || "${sudo_cmd[@]}" rm -f "$list"
  return 0
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
need_update=0
ensure_deb_src && need_update=1
if [ "${#missing[@]}" -gt 0 ] || [ "$need_update" = 1 ]; then
  step "apt: ${missing[*]:-(sources only)}"
  "${sudo_cmd[@]}" apt-get update -qq
  if [ "${#missing[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
      --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
  fi
fi

toolchain=$here/cmake/toolchain-mingw64.cmake
dep_cmake() { # dep_cmake SRC BUILD [options...]
  local src=$1 build=$2
  shift 2
  cmake -S "$src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_C_FLAGS="-w" "$@" >/dev/null
}

if [ ! -f "$prefix/.capsid-deps-ok" ]; then
  step "fetching Debian source packages: libuv1 jansson mimalloc cmocka"
  rm -rf "$deps"
  mkdir -p "$deps/src" "$prefix/include" "$prefix/lib/pkgconfig"
  (cd "$deps/src" && apt-get source -qq libuv1 jansson mimalloc cmocka \
     >"$deps/apt-source.log" 2>&1) || { cat "$deps/apt-source.log"; exit 1; }
  uv_src=$(ls -d "$deps"/src/libuv1-*/)
  js_src=$(ls -d "$deps"/src/jansson-*/)
  mi_src=$(ls -d "$deps"/src/mimalloc-*/)
  cm_src=$(ls -d "$deps"/src/cmocka-*/)

  # The four builds are independent; run them side by side.
  (
    # libuv: only the static library target (the default target also builds
    # the DLL and a benchmark runner, minutes on two cores).
    dep_cmake "$uv_src" "$deps/b-uv" -DLIBUV_BUILD_TESTS=OFF \
      -DLIBUV_BUILD_BENCH=OFF -DBUILD_TESTING=OFF
    make -s -C "$deps/b-uv" -j"$jobs" uv_a >/dev/null
    cp -r "$uv_src/include/." "$prefix/include/"
    cp "$deps/b-uv/libuv_a.a" "$prefix/lib/libuv_a.a"
  ) >"$deps/uv.log" 2>&1 &
  p_uv=$!
  (
    dep_cmake "$js_src" "$deps/b-js" -DJANSSON_BUILD_DOCS=OFF \
      -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF \
      -DJANSSON_BUILD_SHARED_LIBS=OFF
    make -s -C "$deps/b-js" -j"$jobs" install >/dev/null
  ) >"$deps/jansson.log" 2>&1 &
  p_js=$!
  (
    # mimalloc's test-stress.c includes <Windows.h>; mingw's header is
    # lower case and the file system is not.
    mkdir -p "$deps/incfix"
    echo '#include <windows.h>' >"$deps/incfix/Windows.h"
    dep_cmake "$mi_src" "$deps/b-mi" -DMI_BUILD_SHARED=OFF \
      -DMI_BUILD_OBJECT=OFF -DMI_BUILD_TESTS=OFF -DMI_OVERRIDE=OFF \
      -DMI_WIN_REDIRECT=OFF -DCMAKE_C_FLAGS="-w -I$deps/incfix"
    make -s -C "$deps/b-mi" -j"$jobs" install >/dev/null
  ) >"$deps/mimalloc.log" 2>&1 &
  p_mi=$!
  (
    dep_cmake "$cm_src" "$deps/b-cm" -DWITH_STATIC_LIB=ON \
      -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF
    make -s -C "$deps/b-cm" -j"$jobs" cmocka-static >/dev/null
    cp "$cm_src/include/cmocka.h" "$prefix/include/"
    cp "$(find "$deps/b-cm" -name 'libcmocka-static.a' | head -1)" \
      "$prefix/lib/libcmocka-static.a"
  ) >"$deps/cmocka.log" 2>&1 &
  p_cm=$!
  fail=0
  for pair in "uv:$p_uv" "jansson:$p_js" "mimalloc:$p_mi" "cmocka:$p_cm"; do
    if ! wait "${pair#*:}"; then
      echo "build-windows: building ${pair%%:*} failed:" >&2
      tail -30 "$deps/${pair%%:*}.log" >&2
      fail=1
    fi
  done
  [ "$fail" = 0 ] || exit 1

  # pkg-config files for the static libraries, with the Windows system
  # libraries they need, so capsid's CMakeLists finds them as on Linux.
  cat >"$prefix/lib/pkgconfig/libuv.pc" <<PC
prefix=$prefix
Name: libuv
Description: libuv (static, from Debian's source package)
Version: $(basename "$uv_src" | sed 's/^libuv1-//')
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -luv_a -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 -luuid -lshell32
PC
  cat >"$prefix/lib/pkgconfig/cmocka.pc" <<PC
prefix=$prefix
Name: cmocka
Description: cmocka (static, from Debian's source package)
Version: $(basename "$cm_src" | sed 's/^cmocka-//')
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -lcmocka-static
PC
  touch "$prefix/.capsid-deps-ok"
  step "dependencies built into $prefix"
fi

step "configuring capsid for Windows"
export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig:$prefix/share/pkgconfig
export PKG_CONFIG_PATH=
cmake -S "$here" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCAPSID_WIN_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Debug -DCAPSID_WERROR=ON "$@" >/dev/null
step "building"
cmake --build "$dir" -j"$jobs"
step "done: $dir/capsid.exe"
