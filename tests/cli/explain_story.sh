#!/usr/bin/env bash
# explain_story.sh JETSIM — what `jetsim explain` tells of a run, in the
# words a reader checks it by (the tester's findings of session 6):
#   - the end-of-run summary of a run with two consumers counts each
#     consumer's jobs (the rows of jobs its filter does not take left
#     out) and names dead-lettered jobs as such;
#   - a worker's steps tell its crash as the other faults are told, and
#     when it came back (trace kind restart);
#   - a delivery is the handler's attempt N, as the master counts them,
#     with the stream's delivery count when it differs (a delayed job's
#     first delivery the worker layer naked, a batch lost in a crash), in
#     explain and in the HTML report; a delayed job's story hedges
#     (AckWait after a fault) only when a fault could have lost its nak;
#   - an ack the fault shim lost (drop acks) or turned into a NAK (nak
#     storm) is told as such, and so is the redelivery it caused, in
#     explain and in the HTML report's steps;
#   - a --job or --worker the run does not have is an error (exit 2) with
#     nothing printed on stdout;
#   - explain, report and replay say the same of a path that is not a run
#     database: no such file, a directory, another kind of file.
# All on the model, a few seconds.
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"

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

# ---- attempts and the stream's deliveries ----
"$J" run tests/scenarios/buggy_ack_before_commit.shrunk.scn --seed 1 --db "$tmp/bug.db" >/dev/null
has "$tmp/1549.out" "+12.881 s  delivered to worker 2 (attempt 1, the stream's delivery 2: the worker layer naked delivery 1 until its Jetsim-Not-Before)"
has "$tmp/1549.out" "+13.083 s  delivered to worker 2 (attempt 2, the stream's delivery 3, after the nak of worker 2)"
has "$tmp/1549.out" ", 2 attempt(s), never completed"
lacks "$tmp/1549.out" "after a crash"
"$J" report "$tmp/pat.db" --html "$tmp/pat.html" >/dev/null || bad "report of patterns failed"
grep -o '<tr id="job-1549-c2">.*' "$tmp/pat.html" >"$tmp/1549.html"
has "$tmp/1549.html" "<b>delivered to worker 2</b> (attempt 1, the stream's delivery 2)</span>"
has "$tmp/1549.html" "<b>delivered to worker 2</b> (attempt 2, the stream's delivery 3)</span>"
# delayed jobs and a crash from 0.2 to 0.5 s: job 10 (published at
# 0.2 s) may have lost its nak in it, job 40 (at 0.8 s) not
cat >"$tmp/dc.scn" <<'SCN'
stream   JOBS subjects=jobs.> retention=workqueue storage=file
consumer JOBS c ack_wait=5s
publish  jobs.x rate=50/s count=50 msg_id=job delay=1s..2s
workers  2 batch=4 handle=1ms..3ms
at 200ms crash worker 1 for 300ms
expect   no_loss not_early drained_within=1m
SCN
"$J" run "$tmp/dc.scn" --seed 1 --db "$tmp/dc.db" >/dev/null || bad "the delayed jobs with a crash did not pass"
"$J" explain "$tmp/dc.db" --job 10 >"$tmp/dc10.out" && "$J" explain "$tmp/dc.db" --job 40 >"$tmp/dc40.out" ||
  bad "explain --job 10 / 40 failed"
has "$tmp/dc10.out" "(attempt 1, the stream's delivery 2: the worker layer naked delivery 1 until its Jetsim-Not-Before (or, after crash worker 1 for 0.300 s (line 5), AckWait expired))"
has "$tmp/dc40.out" "(attempt 1, the stream's delivery 2: the worker layer naked delivery 1 until its Jetsim-Not-Before)"
"$J" explain "$tmp/bug.db" --job 236 >"$tmp/236.out" || bad "explain --job 236 failed"
has "$tmp/236.out" "delivered to worker 1 (attempt 1, the stream's delivery 2, after AckWait expired: delivery 1 was fetched but never handed to a handler"

# ---- a worker's crash and restart (the shrunk buggy scenario, seed 1) ----
"$J" explain "$tmp/bug.db" --worker 1 >"$tmp/w1.out" || bad "explain --worker 1 failed"
has "$tmp/w1.out" "      +3.011 s  fault: crash worker 1 after_commit (line 7): worker 1 crashed"
has "$tmp/w1.out" "      +4.011 s  worker 1 restarted, 1.000 s after its crash"
lacks "$tmp/w1.out" "crash worker on worker"
[ "$(sqlite3 "$tmp/bug.db" "SELECT round(t_s, 3), worker, arg FROM story WHERE kind = 'restart'")" = "4.011|1|1000000000" ] ||
  bad "the story view's restart rows: $(sqlite3 "$tmp/bug.db" "SELECT * FROM story WHERE kind = 'restart'")"

# ---- acks lost or turned into NAKs by a fault ----
# workqueue_crashes seed 1: job 3202's ack by worker 4 is lost in drop
# acks; patterns seed 1: job 427's ack by worker 1 arrives as a NAK.
"$J" run sim/scenarios/workqueue_crashes.scn --seed 1 --db "$tmp/wq.db" >/dev/null || bad "workqueue_crashes seed 1 failed"
"$J" explain "$tmp/wq.db" --job 3202 >"$tmp/3202.out" || bad "explain --job 3202 failed"
has "$tmp/3202.out" "+20.352 s  acked by worker 4, but the ack was lost (drop acks 5% for 10.000 s, line 10): the stream still has it and delivers it again after AckWait; the master has it done"
has "$tmp/3202.out" "+20.541 s  delivered to worker 1 (attempt 2, after AckWait expired: the ack of worker 4 was lost (drop acks 5% for 10.000 s, line 10))"
lacks "$tmp/3202.out" "the stream forgets it; the job is over; drop acks"
"$J" report "$tmp/wq.db" --html "$tmp/wq.html" >/dev/null || bad "report of workqueue_crashes failed"
grep -o '<tr id="job-3202">.*' "$tmp/wq.html" >"$tmp/3202.html"
has "$tmp/3202.html" "<span>+20.352 s acked by worker 4 <b>(the ack was lost: drop acks)</b></span>"
"$J" explain "$tmp/pat.db" --job 427 >"$tmp/427.out" || bad "explain --job 427 failed"
has "$tmp/427.out" "+2.133 s  acked by worker 1, but the ack arrived as a NAK (nak storm 10% for 2.000 s, line 30): the stream still has it and delivers it again; the master has it done"
has "$tmp/427.out" "+2.133 s  delivered to worker 1 (attempt 3, after the ack of worker 1 arrived as a NAK (nak storm 10% for 2.000 s, line 30))"
lacks "$tmp/427.out" "came after AckWait expired"

# ---- bad --job / --worker: the message alone ----
for args in "--job 999" "--worker 9" "--job 235 --worker 9" "--job 251"; do
  "$J" explain "$tmp/bug.db" $args >"$tmp/bad.out" 2>"$tmp/bad.err"; rc=$?
  [ $rc -eq 2 ] || bad "explain $args exited $rc, not 2"
  [ -s "$tmp/bad.out" ] && bad "explain $args printed on stdout: $(head -n 1 "$tmp/bad.out")"
  grep -qE "^jetsim explain: no (job|such worker) [0-9]+ in this run" "$tmp/bad.err" ||
    bad "explain $args said: $(cat "$tmp/bad.err")"
done

# ---- a path that is no run database: the same words from every command ----
touch "$tmp/empty.db"
# a run database of an older jetsim (before jobs.for_consumer): refused
# up front, not half-way through a story
cp "$tmp/bug.db" "$tmp/older.db"
sqlite3 "$tmp/older.db" "DROP VIEW jobs_named; ALTER TABLE jobs DROP COLUMN for_consumer;" ||
  bad "could not make a database without jobs.for_consumer"
for cmd in explain report replay; do
  extra=""; [ $cmd = report ] && extra="--html $tmp/x.html"
  for p in "$tmp/nope.db:no such file (\`jetsim run --db FILE\` writes a run database)" \
           "$tmp:is a directory, not a run database" \
           "tests/scenarios/buggy_ack_before_commit.shrunk.scn:not a run database of this jetsim (file is not a database)" \
           "$tmp/empty.db:not a run database of this jetsim (no such table: jobs)" \
           "$tmp/older.db:not a run database of this jetsim (no such column: for_consumer)"; do
    path="${p%%:*}"; want="${p#*:}"
    "$J" $cmd "$path" $extra >"$tmp/bad.out" 2>"$tmp/bad.err"; rc=$?
    [ $rc -eq 2 ] || bad "$cmd $path exited $rc, not 2"
    grep -qF -- "jetsim $cmd: $path: $want" "$tmp/bad.err" || bad "$cmd $path said: $(cat "$tmp/bad.err")"
    [ $cmd = replay ] || [ ! -s "$tmp/bad.out" ] || bad "$cmd $path printed on stdout: $(head -n 1 "$tmp/bad.out")"
  done
done
[ -e "$tmp/x.html" ] && bad "report of a path that is no run database wrote a page"

# the closing lines .ci/run's summary looks for
echo "[==========] explain_story.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] explain_story.sh" || echo "[  FAILED  ] explain_story.sh: $fails failure(s)"
[ $fails -eq 0 ]
