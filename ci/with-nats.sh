#!/usr/bin/env bash
# ci/with-nats.sh — runs a command with a JetStream server at hand.
#
#   ci/with-nats.sh COMMAND [ARGS...]
#
# With NATS_URL already set, runs COMMAND against that server and touches
# nothing else. Otherwise starts one through ci/nats-server.sh under the
# name `jetsim-test-<pid>` (nats-server binary, else Docker), exports NATS_URL,
# JETSIM_NATS_SCRIPT (this directory's nats-server.sh) and JETSIM_NATS_NAME
# (so tests may kill and restart it), runs COMMAND, and stops the server however COMMAND ends,
# Ctrl-C included. Exits with COMMAND's status; with 77 (skipped) and a
# message when no server can be had.
#
# Not: a server manager (that is ci/nats-server.sh).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/nats-server.sh"
name="${JETSIM_NATS_NAME:-jetsim-test-$$}" # per run: two runs never share a server

if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

if [ -n "${NATS_URL:-}" ]; then
  exec "$@"
fi

# The traps come first: a Ctrl-C during start must not leave a server.
trap '"$script" stop "$name" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
if ! url="$("$script" start "$name")"; then
  echo "with-nats: SKIPPED: no nats-server could be started (install nats-server, run Docker, or set NATS_URL)" >&2
  exit 77
fi
export NATS_URL="$url"
export JETSIM_NATS_SCRIPT="$script" JETSIM_NATS_NAME="$name"
"$@"
