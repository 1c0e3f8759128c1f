#!/usr/bin/env bash
# interrupt.sh JETSIM — processes and files survive interruption (issue 10,
# item 8). swarm's children die with their parent, whether it gets SIGTERM
# or kill -9; a run database killed (-9) at a random moment of its run is
# readable, passes SQLite's integrity check, says the run did not finish
# (run.finished = 0), and jetsim replay says it cannot confirm it; a run
# that ends says finished = 1 and leaves one file (no -wal beside it).
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"

# a long scenario: 100,000 jobs (a few seconds of wall time)
cat >"$tmp/long.scn" <<'SCN'
stream JOBS subjects=jobs.> retention=workqueue storage=file dupe_window=2m
consumer JOBS workers ack_wait=30s max_deliver=5
publish jobs.created rate=5000/s count=100000 msg_id=job retry=5 retry_wait=200ms
workers 4 batch=50 handle=2ms..20ms fail=1% idempotent=yes
at 5s crash worker 2 for 10s
expect no_loss no_double_completion drained_within=10m
SCN

# swarm children die with their parent
for sig in TERM KILL; do
  "$J" swarm "$tmp/long.scn" --seeds 100 --jobs 2 >/dev/null 2>&1 &
  parent=$!
  kids=""
  for _ in $(seq 50); do
    kids="$(pgrep -P "$parent" | tr '\n' ' ')"
    [ -n "$kids" ] && break
    sleep 0.1
  done
  [ -n "$kids" ] || bad "swarm started no child"
  kill -s "$sig" "$parent"
  wait "$parent" 2>/dev/null
  sleep 1
  for k in $kids; do
    # gone, or a zombie nobody reaps (a container's init may not): dead either way
    state="$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$k/stat" 2>/dev/null)"
    if [ -n "$state" ] && [ "$state" != Z ]; then
      bad "a swarm child ($k) outlived its parent's SIG$sig"
      kill -9 "$k" 2>/dev/null
    fi
  done
done

# kill -9 at random moments of a run
for delay in 0.02 0.05 0.2 0.4 0.7 1.0; do
  rm -f "$tmp/k.db"*
  "$J" run "$tmp/long.scn" --seed 3 --db "$tmp/k.db" >"$tmp/run.out" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ -e "$tmp/k.db" ] || continue # killed before the file was created
  ok="$(sqlite3 "$tmp/k.db" 'PRAGMA integrity_check' 2>&1)"
  [ "$ok" = ok ] || bad "killed after ${delay}s: integrity_check says $ok"
  if [ "$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM sqlite_master WHERE name='run'")" = 0 ]; then
    # killed while the file was being created: nothing in it at all
    [ "$(sqlite3 "$tmp/k.db" 'SELECT count(*) FROM sqlite_master')" = 0 ] ||
      bad "killed after ${delay}s: some tables but no run table"
    continue
  fi
  # The run may have got to its verdict before the kill on a fast machine:
  # a verdict printed means finished=1; finished=1 without a printed
  # verdict is a kill after the record was complete and before stdout (a
  # file, so buffered) was flushed at exit. Either way the record decides
  # what replay must do.
  fin="$(sqlite3 "$tmp/k.db" 'SELECT finished FROM run' 2>&1)"
  case "$fin" in 0 | 1) ;; *) bad "killed after ${delay}s: run.finished is '$fin'" ;; esac
  grep -qE '^(PASS|FAIL)' "$tmp/run.out" && [ "$fin" != 1 ] &&
    bad "killed after ${delay}s: the verdict was printed but run.finished is '$fin'"
  ended=0
  [ "$fin" = 1 ] && ended=1
  sqlite3 "$tmp/k.db" 'SELECT count(*) FROM jobs; SELECT count(*) FROM trace' >/dev/null 2>&1 ||
    bad "killed after ${delay}s: the tables cannot be read"
  "$J" replay "$tmp/k.db" >"$tmp/k.out" 2>&1; rc=$?
  if [ $ended = 0 ]; then
    [ $rc -eq 5 ] && grep -q 'did not finish' "$tmp/k.out" || bad "killed after ${delay}s: replay exited $rc"
  else
    grep -q '^reproduced: ' "$tmp/k.out" || bad "ended before the kill: replay exited $rc"
  fi
done

# a run that ends is marked finished and is one file
"$J" run sim/scenarios/steady_workqueue.scn --db "$tmp/f.db" >/dev/null; rc=$?
[ "$(sqlite3 "$tmp/f.db" 'SELECT finished, verdict FROM run')" = "1|pass" ] && [ $rc -eq 0 ] ||
  bad "a finished run: $(sqlite3 "$tmp/f.db" 'SELECT finished, verdict FROM run')"
[ -e "$tmp/f.db-wal" ] && bad "a finished run left f.db-wal beside its database"

echo "[==========] interrupt.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] interrupt.sh" || echo "[  FAILED  ] interrupt.sh: $fails failure(s)"
[ $fails -eq 0 ]
