#!/usr/bin/env bash
# ci/with-cluster.sh — runs a command against a 3-node JetStream cluster.
#
#   ci/with-cluster.sh COMMAND [ARGS...]
#
# Starts a cluster through ci/cluster.sh under a per-run name
# (`jetsim-cluster-<pid>`), exports NATS_URL as the comma-separated list of
# its three client URLs, runs COMMAND, and stops the cluster however
# COMMAND ends (Ctrl-C included). Exits with COMMAND's status, or with 77
# (skipped) and a message when no cluster can be started (the nats-server
# binary is needed; cluster.sh does not use Docker).
#
# Not: a cluster manager (that is ci/cluster.sh).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/cluster.sh"
name="${JETSIM_CLUSTER_NAME:-jetsim-cluster-$$}"

if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

trap '"$script" stop "$name" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
if ! urls="$("$script" start "$name")"; then
  echo "with-cluster: SKIPPED: no cluster could be started (install nats-server)" >&2
  exit 77
fi
export NATS_URL="$urls"
unset JETSIM_NATS_SCRIPT JETSIM_NATS_NAME
"$@"
