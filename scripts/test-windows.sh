#!/usr/bin/env bash
# test-windows.sh [DIR]: cross-build capsid for Windows (scripts/
# build-windows.sh, into DIR, default build-win) and run the Windows test
# suite under Wine, headless. Prints "N passed, N failed, N skipped" and
# exits non-zero if anything failed.
#
# Wine runs the plumbing (processes, pipes, job-object kill, timeouts, SID
# and DACL construction, the store) but does not enforce restricting SIDs,
# DACLs or job limits: the tests that need enforcement skip here with the
# reason, and tests/windows/windows-smoke.ps1 runs them on a real Windows.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build-win}
T0=$(date +%s)
step() { echo "[test-windows +$(( $(date +%s) - T0 ))s] $*"; }

"$here/scripts/build-windows.sh" "$dir" || { echo "windows build failed"; exit 1; }
dir=$(cd "$dir" && pwd)

wine=/usr/lib/wine/wine64       # Debian 12 does not put wine64 on PATH
export WINEPREFIX=$dir/wine-prefix WINEDEBUG=-all WINEARCH=win64
unset DISPLAY
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  step "creating the Wine prefix (once per build tree)"
  "$wine" wineboot --init >/dev/null 2>&1
fi
# A persistent wineserver makes each executable start in ~0.1 s, not ~1.3 s.
/usr/lib/wine/wineserver -p 300
trap '/usr/lib/wine/wineserver -k >/dev/null 2>&1 || true' EXIT
# The first Wine program starts Wine's background services, which inherit
# its stdout and live on: start them here, attached to nothing, so that no
# test's output pipe is held open after the test.
"$wine" cmd /c exit </dev/null >/dev/null 2>&1

passed=0 failed=0 skipped=0
log=$dir/test-windows.log
: >"$log"

check() { # check NAME COMMAND...: one CLI-level test
  local name=$1
  shift
  if "$@" >>"$log" 2>&1; then
    passed=$((passed + 1)); echo "  ok    $name"
  else
    failed=$((failed + 1)); echo "  FAIL  $name"
  fi
}

# test-win-serve: Wine keeps no DACL of a file and shows its mode bits as
# one, so the directory this user may not write is made here.
ro_dir=$WINEPREFIX/drive_c/capsid-serve-ro
mkdir -p "$ro_dir" && chmod 0555 "$ro_dir"
export CAPSID_WT_READONLY_DIR='C:/capsid-serve-ro'

step "cmocka suites under Wine"
for exe in "$dir"/tests/windows/test-win-*.exe; do
  name=$(basename "$exe" .exe)
  (cd "$dir/tests/windows" && CMOCKA_MESSAGE_OUTPUT=stdout \
     timeout 300 "$wine" "./$name.exe" </dev/null >"$dir/$name.out" 2>&1)
  rc=$?
  out=$(tr -d '\r' <"$dir/$name.out")
  echo "$out" >>"$log"
  p=$(echo "$out" | grep -c '^\[       OK \]')
  f=$(echo "$out" | grep -c '^\[  FAILED  \] test_')
  s=$(echo "$out" | grep -c '^\[  SKIPPED \] test_' )
  # Each skipped test is listed twice (when it runs and in the summary).
  s=$((s / 2))
  if ! echo "$out" | grep -q '^\[==========\] .* test(s) run\.'; then
    f=$((f + 1))   # crashed or hung before cmocka's summary
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  echo "  $name: $p passed, $f failed, $s skipped (rc $rc)"
  echo "$out" | grep -E '^\[  (ERROR|FAILED) |^\[   LINE|^skipped:' | sed 's/^/    /'
done

step "capsid.exe under Wine"
exe=$dir/capsid.exe
# Jobs below run in the current directory as their workspace, and Wine
# turns the DACLs capsid writes there into Unix mode bits (0775 on every
# file of the tree): run them in a scratch directory, never the checkout.
mkdir -p "$dir/cli-ws"
cd "$dir/cli-ws" || exit 1
export CAPSID_STATE_DIR='C:\capsid-test-state'
check "capsid.exe --help" "$wine" "$exe" --help </dev/null
no_override() {
  # The verification override exists only in the tests' library.
  x86_64-w64-mingw32-nm "$dir/tests/windows/libcapsid_wintest.a" \
    | grep capsid__win_test_unverified_ok >/dev/null &&
  ! x86_64-w64-mingw32-nm "$exe" | grep -q capsid__win_test_unverified_ok &&
  ! x86_64-w64-mingw32-nm "$dir/capsid-runner.exe" \
    | grep -q capsid__win_test_unverified_ok &&
  ! x86_64-w64-mingw32-nm "$dir/libcapsid.a" | grep -q capsid__win_test_
}
check "capsid.exe, capsid-runner.exe, libcapsid.a: no test override" \
  no_override
# The real binary has no override: Wine drops the restricting SIDs, so the
# job must be refused (exit 125) with an error naming them, never run.
refused() {
  local err rc
  "$wine" "$exe" run -- cmd /c echo hi </dev/null >/dev/null \
    2>"$dir/refused.err"
  rc=$?
  err=$(tr -d '\r' <"$dir/refused.err")
  echo "exit $rc: $err"
  [ "$rc" = 125 ] && echo "$err" | grep -q 'restricting SIDs missing: S-1-5-21-'
}
check "capsid.exe run refuses with the dropped SIDs named (exit 125)" refused
no_output() {
  local out
  "$wine" "$exe" run -- cmd /c echo must-not-run </dev/null \
    >"$dir/unconfined.out" 2>/dev/null
  [ ! -s "$dir/unconfined.out" ]
}
check "capsid.exe run did not run the job unconfined" no_output
elevated_needs_setup() {
  # No sandbox users under Wine (setup fails closed there): an explicit
  # elevated job is refused with the remedy, never downgraded or run.
  local err rc
  "$wine" "$exe" run --mode elevated -- cmd /c echo must-not-run \
    </dev/null >"$dir/elevated.out" 2>"$dir/elevated.err"
  rc=$?
  err=$(tr -d '\r' <"$dir/elevated.err")
  echo "exit $rc: $err"
  [ "$rc" = 125 ] && [ ! -s "$dir/elevated.out" ] &&
    echo "$err" | grep -q 'capsid setup'
}
check "capsid.exe run --mode elevated refuses without setup (exit 125)" \
  elevated_needs_setup
runner_alone() {
  # The runner opens nothing but a capsid runner pipe.
  "$wine" "$dir/capsid-runner.exe" 'C:\Windows\win.ini' </dev/null \
    >/dev/null 2>&1
  [ $? = 125 ]
}
check "capsid-runner.exe refuses anything but its pipe (exit 125)" \
  runner_alone
read_root_usage() {
  # A read root that is no directory is a usage error naming the option,
  # before setup touches anything.
  local err rc
  "$wine" "$exe" setup --read-root 'C:\capsid-no-such-dir' </dev/null \
    >/dev/null 2>"$dir/readroot.err"
  rc=$?
  err=$(tr -d '\r' <"$dir/readroot.err")
  echo "exit $rc: $err"
  [ "$rc" = 2 ] && echo "$err" | grep -q -- '--read-root'
}
check "capsid.exe setup --read-root refuses a missing directory (exit 2)" \
  read_root_usage
batch_refused() {
  local out
  printf '{"id":"w1","argv":["cmd","/c","echo","hi"]}\n' >"$dir/batch.in"
  "$wine" "$exe" batch "$dir/batch.in" </dev/null >"$dir/batch.out" 2>&1
  out=$(tr -d '\r' <"$dir/batch.out")
  echo "$out"
  echo "$out" | grep -q '"id":"w1"' && echo "$out" | grep -q 'verify'
}
check "capsid.exe batch reports the refusal per job" batch_refused
utf8_args() {
  # capsid.exe carries a manifest making UTF-8 its code page, so a
  # non-ASCII argument reaches it (and its messages) as UTF-8.
  "$wine" "$exe" run -C 'nö-such' -- cmd </dev/null >/dev/null \
    2>"$dir/utf8.err"
  grep -q 'nö-such' "$dir/utf8.err"
}
check "capsid.exe keeps non-ASCII arguments as UTF-8" utf8_args

acl_sids() {
  # capsid acl takes SIDs and account names on Windows, refuses a POSIX id
  # naming the option, and plans traverse from the drive root "C:/" for
  # the workspace's identity (never the shared users group).
  local ws='C:\capsid-acl-cli\ws' sd='C:\capsid-acl-cli\state' out rc
  local sid=S-1-5-21-1-2-3-1000
  rm -rf "$WINEPREFIX/drive_c/capsid-acl-cli"
  mkdir -p "$WINEPREFIX/drive_c/capsid-acl-cli/ws/sub"
  out=$(CAPSID_STATE_DIR=$sd "$wine" "$exe" acl apply -C "$ws" --uid 61001 \
          </dev/null 2>&1)
  rc=$?
  echo "numeric uid: exit $rc: $out"
  [ "$rc" = 2 ] && echo "$out" | grep -q -- '--uid: "61001" is neither a SID' ||
    return 1
  out=$(CAPSID_STATE_DIR=$sd "$wine" "$exe" acl apply -C "$ws" --uid "$sid" \
          --root-gid capsid-no-such-account </dev/null 2>&1)
  rc=$?
  echo "unknown account: exit $rc: $out"
  [ "$rc" = 2 ] && echo "$out" | grep -q -- '--root-gid: "capsid-no-such' ||
    return 1
  CAPSID_STATE_DIR=$sd "$wine" "$exe" acl apply -C "$ws" --uid "$sid" \
    --users-gid Users </dev/null || return 1
  out=$(CAPSID_STATE_DIR=$sd "$wine" "$exe" acl status -C "$ws" --uid "$sid" \
          --users-gid Users </dev/null 2>&1 | tr -d '\r')
  rc=$?
  echo "status: exit $rc: $out"
  echo "$out" | grep -q "u:$sid:rwX" &&
    echo "$out" | grep -q "traverse  C:/: u:$sid:--x" &&
    ! echo "$out" | grep -q 'traverse  /:' || return 1
  CAPSID_STATE_DIR=$sd "$wine" "$exe" acl revoke -C "$ws" --uid "$sid" \
    --users-gid Users </dev/null || return 1
  CAPSID_STATE_DIR=$sd "$wine" "$exe" acl status -C "$ws" --uid "$sid" \
    </dev/null 2>&1 | grep -q 'nothing recorded'
}
check "capsid.exe acl takes SIDs and account names, refuses POSIX ids" acl_sids

audit_everyone() {
  # Wine maps a directory's o+w to an Everyone ACE: the audit must find
  # it (and not its 0755 sibling), say Everyone, and report it not denied
  # yet (no job has run); the default places (no DIR) scan without error.
  local d out
  d=$(mktemp -d "${TMPDIR:-/tmp}/capsid-audit.XXXXXX")
  mkdir "$d/open" "$d/closed" && chmod 777 "$d/open" && chmod 755 "$d/closed"
  CAPSID_STATE_DIR="Z:$d/state" "$wine" "$exe" audit --json "Z:$d" \
    </dev/null >"$dir/audit.out" 2>&1
  out=$(tr -d '\r' <"$dir/audit.out")
  rm -rf "$d"
  echo "$out"
  echo "$out" | grep -q '"path":"Z:/.*/open","type":"dir","why":"DACL lets Everyone create files","denied":false' &&
    ! echo "$out" | grep -q 'closed' &&
    { "$wine" "$exe" audit </dev/null >"$dir/audit-default.out" 2>&1
      [ $? -le 1 ]; } &&
    tr -d '\r' <"$dir/audit-default.out" | grep -q '^capsid audit: [0-9]* found'
}
check "capsid.exe audit finds an Everyone-writable directory" audit_everyone

doctor_honest() {
  # Wine drops restricting SIDs and job limits: doctor must say so, name
  # no confining mode and exit 1, as the probe reads the objects back.
  local out rc
  "$wine" "$exe" doctor </dev/null >"$dir/doctor.out" 2>&1
  rc=$?
  out=$(tr -d '\r' <"$dir/doctor.out")
  echo "exit $rc: $out"
  [ "$rc" = 1 ] &&
    echo "$out" | grep -q '^--   restricted token .*restricting SIDs missing' &&
    echo "$out" | grep -q '^--   job objects' &&
    echo "$out" | grep -q '^auto mode: none'
}
check "capsid.exe doctor reports Wine's dropped token and limits (exit 1)" \
  doctor_honest
doctor_probe() {
  # The probe's matrix: both token variants, every action; under Wine no
  # job can be confined, so each row must say so (or that its program is
  # absent), the exit status is 1, and the scratch directories are gone.
  local out rows bad home
  "$wine" "$exe" doctor --probe --json </dev/null >"$dir/probe.out" 2>&1
  echo "exit $?"
  out=$(tr -d '\r' <"$dir/probe.out")
  echo "$out"
  rows=$(echo "$out" | grep -o '"variant":"[a-z]*","action"' | sort | uniq -c)
  bad=$(echo "$out" | grep -o '"got":"[^"]*"' | grep -v -e 'not enforced by this system' -e '"absent"')
  home=$WINEPREFIX/drive_c/users/$(whoami)
  [ -z "$bad" ] && echo "$out" | grep -q '"ok":false' &&
    echo "$rows" | grep -q '17 "variant":"default"' &&
    echo "$rows" | grep -q '17 "variant":"strict"' &&
    ! ls -d "$home"/capsid-probe-* 2>/dev/null
}
check "capsid.exe doctor --probe prints both variants, none enforced here" \
  doctor_probe
setup_uninstall() {
  # setup creates the state directory, the capability store with its SID
  # domain, the sandbox group and users; Wine keeps the accounts inside
  # the creating process only, so setup must fail closed there, naming the
  # account whose SID cannot be looked up. uninstall then removes what was
  # made and verifies; nothing of the state directory is left.
  local sd='C:\capsid-setup-test' unix out rc
  unix=$WINEPREFIX/drive_c/capsid-setup-test
  rm -rf "$unix"
  out=$(CAPSID_STATE_DIR=$sd "$wine" "$exe" setup </dev/null 2>&1)
  rc=$?
  echo "setup exit $rc: $out"
  grep -q '"sid_domain": "S-1-5-21-' "$unix/capabilities.json" || return 1
  [ "$rc" = 1 ] || return 1
  echo "$out" | tr -d '\r' |
    grep -q "the account CapsidOffline was created but its SID cannot" ||
    return 1
  CAPSID_STATE_DIR=$sd "$wine" "$exe" uninstall </dev/null || return 1
  [ ! -e "$unix" ]
}
check "capsid.exe setup fails closed under Wine; uninstall leaves nothing" \
  setup_uninstall

serve_pipe() {
  # capsid.exe serve on a named pipe; run and batch through it (--server
  # pipe:NAME, CAPSID_SERVER) print and exit exactly as locally (here
  # both refuse the job: Wine drops the restricted token); the owner's
  # shutdown request stops the server with status 0.
  local pipe=capsid-cli-$$ srv rc out i
  "$wine" "$exe" serve --socket "pipe:$pipe" </dev/null \
    >"$dir/serve.out" 2>&1 &
  srv=$!
  for i in $(seq 1 100); do
    grep -q 'listening on' "$dir/serve.out" 2>/dev/null && break
    sleep 0.2
  done
  tr -d '\r' <"$dir/serve.out"
  grep -qF "listening on \\\\.\\pipe\\$pipe" "$dir/serve.out" || return 1
  "$wine" "$exe" run -- cmd /c echo hi </dev/null >"$dir/local.out" \
    2>"$dir/local.err"
  echo "exit $?" >"$dir/local.rc"
  "$wine" "$exe" run --server "pipe:$pipe" -- cmd /c echo hi </dev/null \
    >"$dir/remote.out" 2>"$dir/remote.err"
  echo "exit $?" >"$dir/remote.rc"
  cat "$dir/local.rc" "$dir/remote.rc" "$dir/remote.err"
  cmp "$dir/local.out" "$dir/remote.out" &&
    cmp "$dir/local.err" "$dir/remote.err" &&
    cmp "$dir/local.rc" "$dir/remote.rc" || return 1
  CAPSID_SERVER="pipe:$pipe" "$wine" "$exe" run -- cmd /c echo hi \
    </dev/null >"$dir/remote.out" 2>"$dir/remote.err"
  echo "exit $?" >"$dir/remote.rc"
  cmp "$dir/local.err" "$dir/remote.err" &&
    cmp "$dir/local.rc" "$dir/remote.rc" || return 1
  # batch: the same lines, timings aside
  printf '{"id":"s1","argv":["cmd","/c","echo","hi"]}\n{"id":"s2"}\n' \
    >"$dir/serve-batch.in"
  "$wine" "$exe" batch "Z:$dir/serve-batch.in" </dev/null 2>&1 |
    sed 's/"duration_ms":[0-9.]*//; s/[0-9.]* s, [0-9.]* jobs\/s//' \
    >"$dir/local-batch.out"
  "$wine" "$exe" batch --server "pipe:$pipe" "Z:$dir/serve-batch.in" \
    </dev/null 2>&1 |
    sed 's/"duration_ms":[0-9.]*//; s/[0-9.]* s, [0-9.]* jobs\/s//' \
    >"$dir/remote-batch.out"
  diff "$dir/local-batch.out" "$dir/remote-batch.out" || return 1
  out=$("$wine" "$dir/tests/windows/test-win-serve.exe" --send \
          "\\\\.\\pipe\\$pipe" '{"v":1,"type":"shutdown"}' </dev/null | tr -d '\r')
  echo "shutdown: $out"
  echo "$out" | grep -q '"event":"ok"' || return 1
  wait "$srv"
  rc=$?
  echo "server exit $rc"
  [ "$rc" = 0 ]
}
check "capsid.exe serve on a named pipe; run/batch --server same as local" \
  serve_pipe
serve_not_a_pipe() {
  # A Unix socket path or mode bits mean nothing for a named pipe: refused.
  local rc1 rc2
  "$wine" "$exe" serve --socket /tmp/capsid.sock </dev/null \
    >"$dir/serve-bad.out" 2>&1
  rc1=$?
  "$wine" "$exe" serve --socket pipe:capsid-x --socket-mode 0600 \
    </dev/null >>"$dir/serve-bad.out" 2>&1
  rc2=$?
  tr -d '\r' <"$dir/serve-bad.out"
  [ "$rc1" = 1 ] && [ "$rc2" = 1 ] &&
    grep -q 'is not a named pipe' "$dir/serve-bad.out" &&
    grep -q 'socket-mode is for a Unix socket' "$dir/serve-bad.out"
}
check "capsid.exe serve refuses a socket path and --socket-mode" \
  serve_not_a_pipe
serve_stdio() {
  # capsid.exe serve --stdio on anonymous pipes (test-win-serve.exe
  # --stdio-client makes them, as a Windows parent would: a Unix pipe
  # under Wine is no Windows pipe): ping answered; a job answered as a
  # local run (here both refused: Wine drops the restricted token);
  # no CR in the events; exit 0 when the input ends.
  local out win_exe win_ws
  win_exe="Z:$(echo "$exe" | tr / '\\')"
  win_ws="Z:$(pwd)"
  out=$("$wine" "$dir/tests/windows/test-win-serve.exe" --stdio-client \
          "$win_exe" '{"v":1,"type":"ping"}' \
          '{"v":1,"type":"run","job":{"argv":["cmd","/c","echo","hi"],"cwd":"'"$win_ws"'"}}' \
          </dev/null 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  out=$(echo "$out" | tr -d '\r')
  echo "$out" | grep -q '^{"v":1,"event":"pong"' &&
    echo "$out" | grep -q '^{"v":1,"event":"accepted","job":1}$' &&
    echo "$out" | grep -q '^{"v":1,"event":"exit","job":1,.*"stage":"verify"' &&
    echo "$out" | grep -q '^server exit 0$'
}
check "capsid.exe serve --stdio: events on stdout, exit 0 at EOF" \
  serve_stdio
serve_stdio_files() {
  # `capsid.exe serve --stdio < requests > events`: a disk file on both
  # ends (libuv opens neither as a pipe on Windows); the last request has
  # no newline; both are answered, then exit 0.
  printf '%s\n%s' '{"v":1,"type":"ping","tag":"a"}' \
    '{"v":1,"type":"ping","tag":"b"}' >"$dir/stdio.in"
  "$wine" "$exe" serve --stdio <"$dir/stdio.in" >"$dir/stdio.out" ||
    return 1
  cat "$dir/stdio.out"
  [ "$(tr -d '\r' <"$dir/stdio.out" | grep -c '"event":"pong"')" = 2 ]
}
check "capsid.exe serve --stdio from a file of requests into a file" \
  serve_stdio_files
hint_names_pipe() { # STATUS ARGS...: capsid.exe ARGS exits STATUS,
  # prints nothing on stdout and names pipe:NAME, no unix: path.
  local want=$1 err rc
  shift
  "$wine" "$exe" "$@" </dev/null >"$dir/badaddr.out" 2>"$dir/badaddr.err"
  rc=$?
  err=$(tr -d '\r' <"$dir/badaddr.err")
  echo "$1 exit $rc: $err"
  [ "$rc" = "$want" ] && [ ! -s "$dir/badaddr.out" ] &&
    echo "$err" | grep -qF '"bogus:x" is not a server address (pipe:NAME)' &&
    ! echo "$err" | grep -q 'unix:'
}
bad_server_hint() {
  # A --server address Windows does not serve: refused before anything
  # runs, and the hint shows Windows' form (pipe:NAME), not a Unix
  # socket path no Windows server listens on.
  printf '{"id":"b1","argv":["cmd","/c","echo","must-not-run"]}\n' \
    >"$dir/badaddr.in"
  hint_names_pipe 125 run --server bogus:x -- cmd /c echo must-not-run &&
    hint_names_pipe 2 batch --server bogus:x "Z:$dir/badaddr.in"
}
check "capsid.exe run/batch --server bogus:x: the hint names pipe:NAME" \
  bad_server_hint

step "PowerShell scripts (no PowerShell here: parsed with tree-sitter)"
"$here/scripts/check-ps1.sh" "$dir/ps1-check" >>"$log" 2>&1
case $? in
  0) passed=$((passed + 1))
     echo "  ok    the .ps1 scripts parse; no variable read before it is set" ;;
  2) skipped=$((skipped + 1))
     echo "  skip  PowerShell syntax: $(tail -1 "$log")" ;;
  *) failed=$((failed + 1)); echo "  FAIL  PowerShell syntax (see $log)"
     grep -E '\.ps1:[0-9]+:' "$log" | tail -5 | sed 's/^/    /' ;;
esac

step "done"
echo "windows tests: $passed passed, $failed failed, $skipped skipped (log: $log)"
[ "$failed" -eq 0 ]
