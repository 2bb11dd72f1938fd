#!/usr/bin/env bash
# deb.sh BUILD_DIR: the .deb CPack builds installs with dpkg, its capsid
# runs `capsid doctor` and a job, and `dpkg -r` removes it with nothing of
# it left under /usr. Needs root and dpkg; it changes the machine's /usr,
# so it refuses to run over a capsid package installed by someone else.
set -euo pipefail
build=$(cd "$1" && pwd)
skip() {
  echo "skipped: $*"
  [ "${CAPSID_NO_SKIP:-0}" = 1 ] && exit 1
  exit 77
}
[ "$(id -u)" = 0 ] || skip "installing a .deb needs root"
command -v dpkg >/dev/null || skip "dpkg is not installed (not Debian?)"
if dpkg-query -W capsid >/dev/null 2>&1; then
  echo "dpkg already knows a capsid package; not touching it"
  exit 1
fi
tmp=$(mktemp -d)
installed=0
cleanup() {
  [ $installed = 1 ] && dpkg -P capsid >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export CAPSID_STATE_DIR=$tmp/state

(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" \
  >"$tmp/cpack.log") || { cat "$tmp/cpack.log"; exit 1; }
deb=$(find "$tmp/pkg" -maxdepth 1 -name 'capsid_*.deb')
[ -n "$deb" ] || { echo "cpack made no .deb"; exit 1; }
echo "built $(basename "$deb")"
dpkg-deb -I "$deb" | sed -n 's/^ \(Depends\|Version\|Architecture\):/  \1:/p'
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$')

# dpkg waits for no lock: on a fresh machine apt's daily run, or another
# suite's test-deb, may hold it for a while. Up to 5 minutes, then fail.
dpkg_waiting() {
  local i
  for i in $(seq 150); do
    "$@" >"$tmp/dpkg.log" 2>&1 && return 0
    grep -qE "frontend lock|database is locked" "$tmp/dpkg.log" || break
    [ "$i" = 1 ] && echo "waiting for the dpkg lock: $(head -1 "$tmp/dpkg.log")"
    sleep 2
  done
  cat "$tmp/dpkg.log"
  return 1
}
dpkg_waiting dpkg -i "$deb" || exit 1
installed=1
# A minimal image (Docker's Debian) may tell dpkg not to unpack man pages.
man_excluded=0
grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* &&
  man_excluded=1
for f in /usr/bin/capsid /usr/include/capsid.h /usr/share/man/man1/capsid.1; do
  case $f in /usr/share/man/*) [ $man_excluded = 1 ] && continue ;; esac
  [ -e "$f" ] || { echo "not installed: $f"; exit 1; }
done
/usr/bin/capsid --version
# doctor exits 1 when no confining mode works here; that is an answer.
rc=0
(cd "$tmp" && /usr/bin/capsid doctor) || rc=$?
[ $rc -le 1 ] || { echo "capsid doctor exited $rc"; exit 1; }
out=$(cd "$tmp" && /usr/bin/capsid run -p read-only -- /bin/echo packaged)
[ "$out" = packaged ] || { echo "the packaged capsid ran no job: '$out'"; exit 1; }
if [ $man_excluded = 0 ]; then
  man -w capsid-run >/dev/null || { echo "man capsid-run is not found"; exit 1; }
fi
pkg-config --exists capsid || { echo "pkg-config does not find capsid"; exit 1; }

dpkg_waiting dpkg -r capsid || exit 1
installed=0
left=0
for f in $files; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    echo "left behind: $f"
    left=1
  fi
done
if dpkg-query -W -f='${Status}' capsid 2>/dev/null | grep -q ' installed'; then
  echo "dpkg still lists capsid as installed"; left=1
fi
[ $left = 0 ] || exit 1
# dpkg keeps a removed package's postrm (CPack's ldconfig call) until it
# is purged: purge, and then dpkg must not know capsid at all.
dpkg -P capsid >"$tmp/dpkg.log" || { cat "$tmp/dpkg.log"; exit 1; }
if dpkg-query -W capsid >/dev/null 2>&1; then
  echo "dpkg still knows capsid after a purge"; exit 1
fi
echo "the .deb installed, ran doctor and a job, and was removed cleanly ($(wc -l <<<"$files") files)"
