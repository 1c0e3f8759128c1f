#!/usr/bin/env bash
# docs_examples.sh JETSIM — the examples of docs/SCENARIO.md cannot rot:
# every fenced block marked `scn` is a whole scenario, every one marked
# `scn fragment` is appended to the page's base scenario (the `scn` block
# that starts with the comment "# the base scenario"); each is written next to docs/ (paths in them are relative to
# docs/) and run with `jetsim run --seed 1`, which must reach a verdict
# (exit 0, 1 or 3; 2 is a parse error, 4 a harness error). Examples that
# name the user's code (handler=, payload=, database) run with the
# charge_card example built as a handler library (--handlers).
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"

# The page's directory layout, so that relative paths resolve as in docs/.
mkdir -p "$tmp/docs"
ln -s "$PWD/sim" "$tmp/sim"
ln -s "$PWD/examples" "$tmp/examples"

# Split the page into one file per example: ex-N.scn, and ex-N.kind
# holding "scn" or "fragment"; each starts with a comment naming its line.
awk -v dir="$tmp/docs" '
  /^```scn( fragment)?$/ { n++; kind = ($2 == "fragment") ? "fragment" : "scn"; inb = 1;
                           f = dir "/ex-" n ".scn"; print kind > (dir "/ex-" n ".kind");
                           print "# docs/SCENARIO.md line " NR + 1 > f; next }
  inb && /^```$/         { inb = 0; close(f); next }
  inb                    { print > f }
' docs/SCENARIO.md
count=$(ls "$tmp"/docs/ex-*.scn 2>/dev/null | wc -l)
[ "$count" -ge 10 ] || bad "docs/SCENARIO.md: only $count scn examples found"
base="$(grep -l '^# the base scenario' "$tmp"/docs/ex-*.scn | head -n 1)"
[ -n "$base" ] || { bad "docs/SCENARIO.md has no scn block starting with '# the base scenario'"; base=/dev/null; }

LIB=""
build_handlers() {
  [ -n "$LIB" ] && return 0
  LIB="$tmp/libchargecard.so"
  mkdir -p "$tmp/inc"; cp core/ps_*.h sim/ps_sim.h "$tmp/inc/"
  cc -std=c11 -O1 -Wall -Wextra -Werror -fPIC -shared -I"$tmp/inc" -o "$LIB" \
    examples/charge_card/charge_card.c -lsqlite3 || { bad "building the charge_card handler library"; LIB=/nonexistent; }
}

ran=0
for f in $(ls "$tmp"/docs/ex-*.scn | sort -t- -k2 -n); do
  n="${f##*/ex-}"; n="${n%.scn}"
  kind="$(cat "$tmp/docs/ex-$n.kind")"
  run="$f"
  if [ "$kind" = fragment ]; then
    run="$tmp/docs/run-$n.scn"
    cat "$base" "$f" > "$run"
  fi
  args=()
  if grep -Eq 'handler=|payload=|^database' "$run"; then
    build_handlers; args=(--handlers "$LIB")
  fi
  "$J" run "$run" --seed 1 "${args[@]}" > "$tmp/out-$n.txt" 2>&1; rc=$?
  [ -n "${DOCS_VERBOSE:-}" ] && echo "ex $n ($kind): exit $rc: $(tail -n 1 "$tmp/out-$n.txt")"
  case $rc in
    0|1|3) ran=$((ran + 1)) ;;
    *) bad "$(head -n 1 "$f" | sed 's/^# //') ($kind): jetsim run exit $rc:"; sed 's/^/    /' "$tmp/out-$n.txt" | tail -n 5 ;;
  esac
done

echo "docs_examples: $ran of $count examples of docs/SCENARIO.md ran to a verdict"
# the closing lines .ci/run's summary looks for
echo "[==========] docs_examples.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] docs_examples.sh" || echo "[  FAILED  ] docs_examples.sh: $fails failure(s)"
if [ $fails -ne 0 ]; then echo "docs_examples: $fails FAILED"; exit 1; fi
echo "docs_examples: passed"
