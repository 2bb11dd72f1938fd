#!/usr/bin/env bash
# Installs what capsid needs to build and test on Debian 12. Safe to rerun:
# it only asks apt when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang valgrind
  libuv1-dev libmimalloc-dev libcmocka-dev libjansson-dev libseccomp-dev
  acl attr iproute2 procps util-linux python3 python3-pytest git curl
  redis-server libhiredis-dev
  libssl-dev openssl redis-sentinel chromium
  bubblewrap
  man-db file zsh    # the install tests: man -l, cpack shlibdeps, zsh -n
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # A fresh machine's daily apt run may hold dpkg's lock: wait for it.
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"
else
  echo "bootstrap: all packages present"
fi
