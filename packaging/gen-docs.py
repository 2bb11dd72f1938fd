#!/usr/bin/env python3
"""Man pages and shell completions from capsid's own help text.

    gen-docs.py [--version V] CAPSID OUTDIR

runs CAPSID (a built capsid) for its command list and each command's
--help, and writes OUTDIR/man/capsid.1, OUTDIR/man/capsid-COMMAND.1,
OUTDIR/completions/capsid.bash and OUTDIR/completions/_capsid. The help
text is the one source: the command table of cli/main.c, the option lines
of each cmd-*.c usage, so a new option reaches the man page and the
completions with the next build.
"""
import argparse
import os
import re
import subprocess
import sys

# A section heading: "Options:", "Exit status: 0 when ...".
HEADING = re.compile(r"^([A-Z][A-Za-z -]*):(?: +(\S.*))?$")


def run(capsid, *args):
    p = subprocess.run([capsid, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, check=False)
    return p.stdout, p.stderr


def command_names(capsid):
    """The command table, as capsid lists it for a wrong help topic."""
    _, err = run(capsid, "help", "no-such-command")
    m = re.search(r"the commands are: (.*)$", err, re.M)
    if not m:
        sys.exit("gen-docs: no command list in: " + err)
    return [c.strip() for c in m.group(1).split(",")]


def summaries(main_help):
    """command -> the one-line summary of `capsid --help`."""
    out = {}
    for line in main_help.splitlines():
        m = re.match(r"^  capsid ([a-z]+)(?: \| ([a-z]+))?.*? {2,}(\S.*)$",
                     line)
        if m:
            for name in (m.group(1), m.group(2)):
                if name and name not in out:
                    out[name] = m.group(3)
    return out


def options(text):
    """The option names a help text lists, in order. An option line is
    indented 2-6 spaces and starts with a dash; deeper lines continue the
    one above."""
    names = []
    for line in text.splitlines():
        if not re.match(r"^ {2,6}-", line):
            continue
        term = re.split(r" {2,}", line.strip())[0]
        for name in re.findall(r"(?<![\w-])--?[A-Za-z0-9][A-Za-z0-9-]*", term):
            if name not in names:
                names.append(name)
    return names


def bench_names(text):
    """The benchmark list of `capsid help bench`."""
    return re.findall(r"^  ([a-z]+) {2,}\S", text, re.M)


def usage_actions(text, command):
    """"apply|status|revoke" in a usage line: a command's actions."""
    m = re.search(r"capsid %s ([a-z]+(?:\|[a-z]+)+)" % command, text)
    return m.group(1).split("|") if m else []


# --------------------------------------------------------------------- roff

def esc(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def option_term(spec):
    """"-j, --jobs N" -> bold names, italic arguments."""
    out = []
    for word in re.split(r"(\s+|,)", spec):
        if word.startswith("-"):
            out.append("\\fB" + esc(word) + "\\fR")
        elif word.strip() and word != ",":
            out.append("\\fI" + esc(word) + "\\fR")
        else:
            out.append(esc(word))
    return "".join(out)


def blocks(lines):
    block = []
    for line in lines:
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def option_items(block):
    """Split an option block into (term, [description lines]); a
    continuation line keeps its indentation beyond the description's
    column (the line below the option's), for JSON samples."""
    items = []
    column = None
    for line in block:
        if re.match(r"^ {2,6}-", line):
            parts = re.split(r" {2,}", line.strip(), maxsplit=1)
            items.append((parts[0], parts[1:]))
            column = None
        elif items:
            indent = len(line) - len(line.lstrip())
            if column is None:
                column = indent
            items[-1][1].append(" " * max(0, indent - column) + line.strip())
        else:
            return None
    return items


def description_roff(desc):
    """Description lines of an option: prose is filled; a JSON sample
    (from a line opening with { to the line closing it) keeps its lines."""
    out = []
    in_sample = False
    for line in desc:
        text = line.strip()
        if not in_sample and text.startswith("{"):
            out += [".nf"]
            in_sample = True
        out.append(esc(line))
        if in_sample and text.endswith("}"):
            out += [".fi"]
            in_sample = False
    if in_sample:
        out += [".fi"]
    return out


def body_roff(lines):
    out = []
    for block in blocks(lines):
        items = option_items(block) if re.match(r"^ {2,6}-", block[0]) else None
        if items:
            for term, desc in items:
                out += [".TP", option_term(term)]
                out += description_roff(desc) or [""]
        else:
            # A paragraph, then (or only) an indented sample or list, kept
            # as laid out.
            n = 0
            while n < len(block) and not block[n].startswith(" "):
                n += 1
            if n:
                out += [".PP"] + [esc(l) for l in block[:n]]
            if n < len(block):
                out += [".PP", ".RS 4", ".nf"] + \
                       [esc(l) for l in block[n:]] + [".fi", ".RE"]
    return out


def sections(text):
    """(heading, lines): the text before the first heading is DESCRIPTION."""
    current, lines = "DESCRIPTION", []
    for line in text.splitlines():
        h = HEADING.match(line)
        if h and not line.startswith(" "):
            if lines:
                yield current, lines
            current, lines = h.group(1).upper(), []
            if h.group(2):
                lines.append(h.group(2))
            continue
        lines.append(line)
    if lines:
        yield current, lines


def man_page(name, summary, text, version, see_also, extras=()):
    usage, rest = [], []
    lines = text.rstrip("\n").splitlines()
    i = 0
    if lines and lines[0].startswith("Usage: "):
        usage.append(lines[0][len("Usage: "):])
        i = 1
        while i < len(lines) and lines[i].startswith("       capsid"):
            usage.append(lines[i].strip())
            i += 1
    rest = "\n".join(lines[i:])
    out = ['.TH %s 1 "" "capsid %s" "capsid manual"' % (esc(name.upper()),
                                                         version),
           ".SH NAME", "%s \\- %s" % (esc(name), esc(summary))]
    if usage:
        out += [".SH SYNOPSIS", ".nf"] + [esc(u) for u in usage] + [".fi"]
    for heading, body in sections(rest):
        out += [".SH " + esc(heading)] + body_roff(body)
    # A command's own sub-commands (capsid bench NAME --help), one section
    # each, their headings one level down.
    for title, sub in extras:
        out += [".SH " + esc(title.upper())]
        for heading, body in sections(sub):
            if heading != "DESCRIPTION":
                out += [".SS " + esc(heading)]
            out += body_roff(body)
    if see_also:
        out += [".SH SEE ALSO", ".nh",
                ",\n".join("\\fB%s\\fR(1)" % esc(s) for s in see_also)]
    return "\n".join(out) + "\n"


def first_sentence(text):
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    sentence = re.split(r"(?<=[.:])\s", " ".join(body.split()), 1)[0]
    return sentence.rstrip(".:")


# -------------------------------------------------------------- completions

def bash_completion(commands, opts, actions, lead):
    """lead: the options capsid takes before the command (-v, --quiet)."""
    cases = []
    for cmd in commands:
        cases.append("    %s) opts=%s ;;" % (cmd, shell_words(opts[cmd])))
    act = []
    for cmd, names in actions.items():
        act.append("    %s) actions=%s ;;" % (cmd, shell_words(names)))
    return """# bash completion for capsid (generated from its help text by
# packaging/gen-docs.py; do not edit).
_capsid() {
  local cur cmd opts="" actions="" n=1
  cur=${COMP_WORDS[COMP_CWORD]}
  # The options before the command (capsid -v doctor).
  while [ "$n" -lt "$COMP_CWORD" ]; do
    case ${COMP_WORDS[n]} in
      %s) n=$((n + 1)) ;;
      *) break ;;
    esac
  done
  if [ "$COMP_CWORD" -eq "$n" ]; then
    COMPREPLY=($(compgen -W %s -- "$cur"))
    return
  fi
  cmd=${COMP_WORDS[n]}
  if [ "$cmd" = help ]; then
    [ "$COMP_CWORD" -eq $((n + 1)) ] &&
      COMPREPLY=($(compgen -W %s -- "$cur"))
    return
  fi
  case $cmd in
%s
    *) return ;;
  esac
  case $cmd in
%s
  esac
  if [ "$COMP_CWORD" -eq $((n + 1)) ] && [ -n "$actions" ] &&
     [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -W "$actions" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  fi
}
complete -o default -F _capsid capsid
""" % ("|".join(lead) or "--",
       shell_words(commands + ["help", "--help", "--version"] + lead),
       shell_words(commands), "\n".join(cases), "\n".join(act))


def shell_words(words):
    return '"' + " ".join(words) + '"'


def zsh_completion(commands, summary, opts, actions, lead):
    described = []
    for cmd in commands:
        desc = summary.get(cmd, cmd).replace("'", "'\\''").replace(":", "\\:")
        described.append("    '%s:%s'" % (cmd, desc))
    cases = "\n".join("    %s) opts=(%s) ;;" % (c, " ".join(opts[c]))
                      for c in commands)
    act = "\n".join("    %s) actions=(%s) ;;" % (c, " ".join(n))
                    for c, n in actions.items())
    return """#compdef capsid
# zsh completion for capsid (generated from its help text by
# packaging/gen-docs.py; do not edit).
_capsid() {
  local -a commands opts actions
  local -i n=2
  commands=(
%s
  )
  # The options before the command (capsid -v doctor).
  while (( n < CURRENT )) && [[ $words[n] == (%s) ]]; do
    (( n++ ))
  done
  if (( CURRENT == n )); then
    [[ $PREFIX == -* ]] && compadd -- %s
    _describe 'command' commands
    return
  fi
  if [[ $words[n] == help ]]; then
    (( CURRENT == n + 1 )) && _describe 'command' commands
    return
  fi
  case $words[n] in
%s
  esac
  case $words[n] in
%s
  esac
  if (( CURRENT == n + 1 )) && (( $#actions )) && [[ $PREFIX != -* ]]; then
    compadd -a actions
  elif [[ $PREFIX == -* ]]; then
    compadd -a opts
  else
    _files
  fi
}
_capsid "$@"
""" % ("\n".join(described), "|".join(lead) or "--", " ".join(lead),
       cases, act)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", default="")
    ap.add_argument("capsid")
    ap.add_argument("outdir")
    a = ap.parse_args()

    main_help, _ = run(a.capsid, "--help")
    commands = command_names(a.capsid)
    summary = summaries(main_help)
    helps = {c: run(a.capsid, "help", c)[0] for c in commands}
    opts, actions, extras = {}, {}, {}
    for c in commands:
        extras[c] = []
        opts[c] = options(helps[c])
        names = usage_actions(helps[c], c)
        if c == "bench":
            names = bench_names(helps[c])
            # Each benchmark's --help: its options complete too, and its
            # text goes into capsid-bench(1).
            for b in names:
                text = run(a.capsid, "bench", b, "--help")[0]
                extras[c].append(("capsid bench " + b, text))
                opts[c] += [o for o in options(text) if o not in opts[c]]
        if names:
            actions[c] = names

    man_dir = os.path.join(a.outdir, "man")
    comp_dir = os.path.join(a.outdir, "completions")
    os.makedirs(man_dir, exist_ok=True)
    os.makedirs(comp_dir, exist_ok=True)
    pages = ["capsid-" + c for c in commands]
    write(os.path.join(man_dir, "capsid.1"),
          man_page("capsid", "run untrusted commands at once, each confined "
                   "to its workspace", strip_title(main_help), a.version,
                   pages))
    for c in commands:
        write(os.path.join(man_dir, "capsid-%s.1" % c),
              man_page("capsid-" + c,
                       summary.get(c) or first_sentence(helps[c]),
                       helps[c], a.version, ["capsid"], extras[c]))
    # `capsid --help` lists as options only those taken before a command.
    lead = options(main_help)
    write(os.path.join(comp_dir, "capsid.bash"),
          bash_completion(commands, opts, actions, lead))
    write(os.path.join(comp_dir, "_capsid"),
          zsh_completion(commands, summary, opts, actions, lead))


def strip_title(text):
    """`capsid --help` opens with "capsid - ..." (the NAME line)."""
    lines = text.splitlines()
    if lines and lines[0].startswith("capsid - "):
        lines = lines[1:]
    return "\n".join(lines).lstrip("\n")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
