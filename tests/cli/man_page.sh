#!/usr/bin/env bash
# man_page.sh JETSIM — man/jetsim.1 stays in step with the command line:
# it renders without a warning (groff -ww, and man --warnings when man-db
# is there); every command that `jetsim --help` lists has a section (.SS)
# in it; every option that a command's help names is in it; and every
# help ends with the line pointing to `man jetsim` and the docs.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PAGE=man/jetsim.1
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -f "$PAGE" ] || { echo "FAIL: $PAGE is missing"; exit 1; }
if command -v groff >/dev/null; then
  out="$(groff -man -ww -z "$PAGE" 2>&1)"
  [ -z "$out" ] || bad "groff -man -ww warns about $PAGE: $out"
else
  bad "groff is not installed (make deps installs groff-base)"
fi
if command -v man >/dev/null; then
  out="$(MANWIDTH=80 man --warnings -l "$PAGE" 2>&1 >/dev/null)"
  [ -z "$out" ] || bad "man --warnings -l $PAGE: $out"
fi

# The commands of the general help: the lines "  NAME   what it does"
# between "commands:" and the next blank line.
cmds="$("$J" --help | awk '/^commands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}')"
[ -n "$cmds" ] || bad "jetsim --help lists no commands"
for c in $cmds; do
  grep -q "^\.SS $c\$" "$PAGE" || bad "jetsim $c has no section (.SS $c) in $PAGE"
  help="$("$J" help "$c" 2>&1)" || bad "jetsim help $c failed"
  # every long option the help names, as the page writes it (\-\-name)
  for o in $(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$PAGE" || bad "jetsim $c: option $o is not in $PAGE"
  done
  last="$("$J" "$c" --help 2>&1 | tail -n 1)"
  case "$last" in *"man jetsim"*) ;; *) bad "jetsim $c --help does not end with the man jetsim line: '$last'" ;; esac
done
last="$("$J" --help | tail -n 1)"
case "$last" in *"man jetsim"*) ;; *) bad "jetsim --help does not end with the man jetsim line" ;; esac

n=$(printf '%s\n' $cmds | wc -l)
# the closing lines .ci/run's summary looks for
echo "[==========] man_page.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] man_page.sh" || echo "[  FAILED  ] man_page.sh: $fails failure(s)"
if [ $fails -ne 0 ]; then echo "man_page: $fails FAILED"; exit 1; fi
echo "man_page: $PAGE renders cleanly and covers the $n commands of jetsim --help"
