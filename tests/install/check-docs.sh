#!/usr/bin/env bash
# check-docs.sh CAPSID GENDIR: the man pages and completions generated
# from capsid's help text (packaging/gen-docs.py) render and cover every
# command of `capsid help` and every option each `capsid COMMAND --help`
# lists. The names are read from the help text here again, by a simpler
# rule than the generator's, so a generator that drops one is caught.
set -euo pipefail
capsid=$1
gen=$2
fail=0
bad() { echo "FAIL: $*"; fail=1; }

commands=$({ "$capsid" help no-such-command 2>&1 >/dev/null || true; } |
  sed -n 's/.*the commands are: //p' | tr -d ',')
[ -n "$commands" ] || { echo "no command list from $capsid"; exit 1; }

# Option names of a help text: lines indented 2-6 spaces starting with -.
options_of() {
  grep -E '^ {2,6}-' | sed -E 's/^ +//; s/  .*//' |
    grep -oE '(^|[ ,])--?[A-Za-z0-9][A-Za-z0-9-]*' | tr -d ' ,' | sort -u
}

# bash: what the completion offers at a position.
# shellcheck disable=SC1090
source "$gen/completions/capsid.bash"
complete_at() { # complete_at WORD...: the last word is being completed
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _capsid
  printf '%s\n' "${COMPREPLY[@]}"
}

offered=$(complete_at capsid "")
for c in $commands; do
  grep -qx -- "$c" <<<"$offered" || bad "bash does not complete command $c"
  grep -q -- "'$c:" "$gen/completions/_capsid" ||
    bad "zsh does not complete command $c"
  page=$gen/man/capsid-$c.1
  [ -f "$page" ] || { bad "no man page for $c"; continue; }
  # man -l renders the page; any groff warning fails.
  text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man --warnings -l "$page" 2>"$gen/man.err")
  [ -s "$gen/man.err" ] && bad "man -l $page: $(cat "$gen/man.err")"
  help=$("$capsid" help "$c")
  if [ "$c" = bench ]; then
    for b in $(complete_at capsid bench ""); do
      help+=$'\n'$("$capsid" bench "$b" --help)
    done
  fi
  bash_opts=$(complete_at capsid "$c" -)
  for o in $(options_of <<<"$help"); do
    grep -qx -- "$o" <<<"$bash_opts" || bad "bash: capsid $c $o missing"
    grep -qE -- "[( ]$o[ )]" "$gen/completions/_capsid" ||
      bad "zsh: capsid $c $o missing"
    grep -q -- "$o" <<<"$text" || bad "man capsid-$c: $o missing"
  done
done
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man --warnings -l "$gen/man/capsid.1" 2>"$gen/man.err")
[ -s "$gen/man.err" ] && bad "man -l capsid.1: $(cat "$gen/man.err")"
for c in $commands; do
  grep -q -- "capsid-$c(1)" <<<"$text" || bad "capsid(1) does not name capsid-$c(1)"
done
if command -v zsh >/dev/null; then
  zsh -n "$gen/completions/_capsid" || bad "zsh -n _capsid"
fi
[ $fail -eq 0 ] && echo "man pages and completions cover $(wc -w <<<"$commands") commands"
exit $fail
