#!/usr/bin/env bash
# model_rules.sh [JETSIM] — docs/MODEL.md stays the place every rule
# reference resolves to: every `JS N` or `JS N.M` that a comment or a name
# in core/, backends/, sim/ or tests/ cites (lists and ranges too: "JS
# 3.8-3.9", "JS 2.2 / 5.2", "JS 10.1, 10.2") is a heading "JS N.M ..." of
# docs/MODEL.md; no code points at the old JETSTREAM.md; every conformance
# case docs/MODEL.md names exists, and every conformance case is named
# there under the rule it pins. (The jetsim argument of tests/cli/*.sh is
# not needed.)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DOC=docs/MODEL.md
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ -f "$DOC" ] || { echo "FAIL: $DOC is missing"; exit 1; }

# The rule numbers cited: "JS " and a list of N or N.M joined by , / - or
# "and"; numbers of one or two digits, so an err_code (10071) is not one.
num='[0-9]{1,2}(\.[0-9]{1,2})?'
cited="$(grep -rhoE "JS $num(( ?[,/-] ?| and )$num)*([^0-9.]|\$)" core backends sim tests |
  sed -E 's/^JS //; s/[^0-9.]$//; s/ and /,/g; s/[ ]//g; s/[\/-]/,/g' | tr ',' '\n' | sed -E 's/\.$//' |
  grep -E "^$num\$" | sort -u -V)"
[ -n "$cited" ] || bad "no JS rule citations found in core/ backends/ sim/ tests/"
n=0
for r in $cited; do
  n=$((n + 1))
  grep -qE "^#{2,3} JS ${r//./\\.}( |\$)" "$DOC" || bad "JS $r is cited in the code but has no heading in $DOC: $(
    grep -rlE "JS ([0-9., /and-]*[ ,/-])?${r//./\\.}([^0-9.]|\$)" core backends sim tests | head -n 3 | tr '\n' ' ')"
done

left="$(grep -rl --exclude=model_rules.sh 'JETSTREAM\.md' core backends sim tests 2>/dev/null)"
[ -z "$left" ] || bad "these still cite JETSTREAM.md (cite docs/MODEL.md and the JS number): $left"

cases="$(grep -ohE 'CONF_TEST\(test_[a-z0-9_]+\)' tests/conformance/*.c | sed -E 's/CONF_TEST\((.*)\)/\1/' | sort -u)"
named="$(grep -oE 'test_(js|dt)[a-z0-9_]*[a-z0-9]' "$DOC" | sort -u)"
for t in $named; do
  printf '%s\n' "$cases" | grep -qx "$t" || bad "$DOC names $t, which is no conformance case"
done
for t in $cases; do
  printf '%s\n' "$named" | grep -qx "$t" || bad "conformance case $t is not in $DOC: name it under the rule it pins"
done

# the closing lines .ci/run's summary looks for
echo "[==========] model_rules.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] model_rules.sh" || echo "[  FAILED  ] model_rules.sh: $fails failure(s)"
if [ $fails -ne 0 ]; then echo "model_rules: $fails FAILED"; exit 1; fi
echo "model_rules: the $n rules cited in the code are headings of $DOC; its $(printf '%s\n' $named | wc -l) conformance cases exist"
