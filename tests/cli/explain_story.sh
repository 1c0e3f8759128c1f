#!/usr/bin/env bash
# explain_story.sh JETSIM — what `jetsim explain` tells of a run, in the
# words a reader checks it by (the tester's findings of session 6):
#   - the end-of-run summary of a run with two consumers counts each
#     consumer's jobs (the rows of jobs its filter does not take left
#     out) and names dead-lettered jobs as such;
#   - a worker's steps tell its crash as the other faults are told, and
#     when it came back (trace kind restart).
# All on the model, a few seconds.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
has() { grep -qF -- "$2" "$1" || bad "$(basename "$1") lacks: $2"; }
lacks() { grep -qF -- "$2" "$1" && bad "$(basename "$1") has: $(grep -F -- "$2" "$1" | head -n 1)"; }

# ---- the summary of a run with two consumers (patterns.scn seed 1) ----
"$J" run sim/scenarios/patterns.scn --seed 1 --db "$tmp/pat.db" >/dev/null || bad "patterns seed 1 failed"
"$J" explain "$tmp/pat.db" >"$tmp/pat.out" || bad "explain of patterns failed"
has "$tmp/pat.out" "jobs by state at the end:"
has "$tmp/pat.out" "  orders: done 1500 (e.g. job 1)"
has "$tmp/pat.out" "  reminders: done 135 (e.g. job 1501); dead-lettered 15 (e.g. job 1549)"
has "$tmp/pat.out" "  (each consumer counts the jobs its filter takes: 1500 + 150 of 1650)"
lacks "$tmp/pat.out" "published 1650"
"$J" explain "$tmp/pat.db" --job 1549 >"$tmp/1549.out" || bad "explain --job 1549 failed"
has "$tmp/1549.out" "in the master at the end: failed (dead-lettered), "

# ---- a worker's crash and restart (the shrunk buggy scenario, seed 1) ----
"$J" run tests/scenarios/buggy_ack_before_commit.shrunk.scn --seed 1 --db "$tmp/bug.db" >/dev/null
"$J" explain "$tmp/bug.db" --worker 1 >"$tmp/w1.out" || bad "explain --worker 1 failed"
has "$tmp/w1.out" "      +3.011 s  fault: crash worker 1 after_commit (line 7): worker 1 crashed"
has "$tmp/w1.out" "      +4.011 s  worker 1 restarted, 1.000 s after its crash"
lacks "$tmp/w1.out" "crash worker on worker"
[ "$(sqlite3 "$tmp/bug.db" "SELECT round(t_s, 3), worker, arg FROM story WHERE kind = 'restart'")" = "4.011|1|1000000000" ] ||
  bad "the story view's restart rows: $(sqlite3 "$tmp/bug.db" "SELECT * FROM story WHERE kind = 'restart'")"

# the closing lines .ci/run's summary looks for
echo "[==========] explain_story.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] explain_story.sh" || echo "[  FAILED  ] explain_story.sh: $fails failure(s)"
[ $fails -eq 0 ]
