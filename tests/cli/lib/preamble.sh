# preamble.sh — how every script of tests/cli begins. Sourced first thing,
# with the script's own arguments still in place:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
# Sets: J, the jetsim binary the script was given ($1, required); the
# working directory, the repository's root; tmp, a scratch directory
# removed at exit (a script that sets its own EXIT trap removes it there);
# fails, the count of failed checks, with bad MESSAGE to count one, and
#   has FILE TEXT    FILE contains TEXT (a fixed string), else a failure
#   lacks FILE TEXT  FILE does not contain TEXT, else a failure
# Not a test itself: the loop over tests/cli/*.sh does not reach lib/.
set -u
J="$1"
cd "$(dirname "${BASH_SOURCE[1]}")/../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
has() { grep -qF -- "$2" "$1" || bad "$(basename "$1") lacks: $2"; }
lacks() { grep -qF -- "$2" "$1" && bad "$(basename "$1") has: $(grep -F -- "$2" "$1" | head -n 1)"; }
