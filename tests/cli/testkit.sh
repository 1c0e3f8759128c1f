#!/usr/bin/env bash
# testkit.sh JETSIM — the users' test kit on both backends (issue 14, item
# 6): the library's own kit tests (BUILD/tests/test_testkit) and the
# examples/testkit suite, built as a user builds it (jetsim installed into
# a temporary prefix, the example found with pkg-config only), each run
# twice: on the memory backend, and with JETSIM_TEST_URL set to a
# nats-server that ci/with-nats.sh spawns on loopback (and stops). No
# server to be had: the server half says SKIPPED. In a sanitizer build the
# example is linked against this build's static library instead of an
# install, so that the kit runs under the sanitizers too.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$(pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
B="$(cd "$(dirname "$J")" && pwd)"
cp -r examples/testkit "$tmp/ex"
rm -f "$tmp/ex/test_jobs"

if nm "$J" 2>/dev/null | grep -q __asan_init; then
  echo "testkit: sanitizer build: the example is linked against $B/libjetsim.a"
  nats=""
  nm "$B/libjetsim.a" 2>/dev/null | grep -q ' U natsConnection_' && nats="-lnats"
  cc -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
    -Icore -Ibackends/memory -Ibackends/jetstream -Isim -Itestkit -o "$tmp/ex/test_jobs" \
    "$tmp/ex/test_jobs.c" "$tmp/ex/jobs.c" "$B/libjetsim.a" $nats -lsqlite3 -lcmocka -pthread -lm ||
    bad "building examples/testkit against $B/libjetsim.a"
  run_example() { (cd "$tmp/ex" && ./test_jobs); }
else
  make --no-print-directory install PREFIX="$tmp/prefix" BUILD="$B" >"$tmp/install.out" 2>&1 ||
    { cat "$tmp/install.out"; bad "make install PREFIX=$tmp/prefix"; }
  export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
  # jetsim.pc: its variables name the prefix; its comment lines are the
  # template's, untouched (they name @PREFIX@ to explain it)
  pc="$tmp/prefix/lib/pkgconfig/jetsim.pc"
  grep -qx "prefix=$tmp/prefix" "$pc" || bad "jetsim.pc: $(grep '^prefix=' "$pc")"
  grep -q '@' <(grep -v '^#' "$pc") && bad "jetsim.pc: a variable left unsubstituted: $(grep -v '^#' "$pc" | grep '@')"
  [ "$(grep '^#' "$pc")" = "$(grep '^#' jetsim.pc.in)" ] ||
    bad "jetsim.pc: the comment lines were changed: $(grep '^#' "$pc" | head -n 2)"
  make --no-print-directory -C "$tmp/ex" >"$tmp/build.out" 2>&1 || { cat "$tmp/build.out"; bad "make -C examples/testkit"; }
  run_example() { make --no-print-directory -C "$tmp/ex" test; }
fi
export -f run_example
export tmp B

# memory: the manual clock, no server
unset JETSIM_TEST_URL
# examples/testkit/README.md: its build line, as written but for the
# prefix (ours), builds and runs the example on the memory backend, and it
# says how to run the example on a server
readme=examples/testkit/README.md
if [ ! -f "$readme" ]; then
  bad "examples/testkit has no README.md"
elif [ -z "${nats+x}" ]; then # an install (not a sanitizer build)
  line=$(grep -m 1 '^PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig make test' "$readme" | sed 's/ *#.*//')
  [ -n "$line" ] || bad "$readme: no 'PKG_CONFIG_PATH=\$HOME/.local/lib/pkgconfig make test' line"
  (cd "$tmp/ex" && make --no-print-directory clean >/dev/null && eval "${line//\$HOME\/.local/$tmp/prefix}") \
    >"$tmp/readme.out" 2>&1 || { cat "$tmp/readme.out"; bad "$readme's build line failed: $line"; }
  grep -q 'jobs: on the memory backend' "$tmp/readme.out" || bad "$readme's build line did not run the suite"
  grep -q 'JETSIM_TEST_URL=nats://127.0.0.1:4222 make test' "$readme" || bad "$readme: no server run"
fi
"$B/tests/test_testkit" >"$tmp/kit-mem.out" 2>&1 || { cat "$tmp/kit-mem.out"; bad "test_testkit on memory"; }
run_example >"$tmp/ex-mem.out" 2>&1 || { cat "$tmp/ex-mem.out"; bad "examples/testkit on memory"; }
grep -q 'jobs: on the memory backend' "$tmp/ex-mem.out" || bad "examples/testkit did not run on the memory backend"

# a real server: the same binaries, JETSIM_TEST_URL set
if [ ! -f "$B/libjetsim.a" ] || ! nm "$B/libjetsim.a" 2>/dev/null | grep -q ' U natsConnection_'; then
  echo "testkit: server half SKIPPED: this jetsim was built without cnats"
  server="skipped (no cnats)"
else
  ci/with-nats.sh bash -c 'export JETSIM_TEST_URL="$NATS_URL";
    "$B/tests/test_testkit" >"$tmp/kit-srv.out" 2>&1 || exit 11;
    run_example >"$tmp/ex-srv.out" 2>&1 || exit 12;
    # every kit closed: the server we spawned holds no stream (curl, when there is one)
    mon="$(cat "${JETSIM_NATS_STATE:-${TMPDIR:-/tmp}/jetsim-nats-$(id -u)}/${JETSIM_NATS_NAME:-}/monport" 2>/dev/null)";
    if [ -n "$mon" ] && command -v curl >/dev/null; then
      curl -s "http://127.0.0.1:$mon/jsz" >"$tmp/jsz.out";
      grep -q "\"streams\": 0," "$tmp/jsz.out" || exit 13;
      echo "left on the server: 0 streams" >"$tmp/left.out";
    fi' >"$tmp/nats.out" 2>&1
  rc=$?
  case $rc in
    0) grep -q 'jobs: on a nats-server' "$tmp/ex-srv.out" || bad "examples/testkit did not run on the server"
       server="passed on a spawned nats-server ($(grep -c '^\[       OK \]' "$tmp/kit-srv.out") kit tests, $(grep -c '^\[       OK \]' "$tmp/ex-srv.out") example tests$([ -f "$tmp/left.out" ] && echo ', 0 streams left'))" ;;
    77) echo "testkit: server half SKIPPED: no nats-server could be started"; server="skipped (no server)" ;;
    11) cat "$tmp/nats.out" "$tmp/kit-srv.out"; bad "test_testkit on a nats-server"; server="failed" ;;
    12) cat "$tmp/nats.out" "$tmp/ex-srv.out"; bad "examples/testkit on a nats-server"; server="failed" ;;
    13) grep '"streams"' "$tmp/jsz.out"; bad "the kits left streams on the server"; server="failed" ;;
    *) cat "$tmp/nats.out"; bad "ci/with-nats.sh: exit $rc"; server="failed" ;;
  esac
fi

# the closing lines .ci/run's summary looks for
echo "[==========] testkit.sh: every check run."
[ $fails -eq 0 ] && echo "[  PASSED  ] testkit.sh" || echo "[  FAILED  ] testkit.sh: $fails failure(s)"
if [ $fails -ne 0 ]; then echo "testkit: $fails failure(s)"; exit 1; fi
echo "testkit: ok (memory: $(grep -c '^\[       OK \]' "$tmp/kit-mem.out") kit tests, $(grep -c '^\[       OK \]' "$tmp/ex-mem.out") example tests; server: $server)"
