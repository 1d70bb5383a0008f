#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 3s):
# `make test` runs them briefly, `make fuzz` longer (FUZZTIME=2m).
# Go fuzzes one target per invocation, so each is run on its own.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
status=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/.*func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")
  pkg=./$(dirname "$file")
  echo "fuzz $pkg $name for $FUZZTIME"
  if ! $GO test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg" >/tmp/snowhub-fuzz.$$ 2>&1; then
    cat /tmp/snowhub-fuzz.$$
    status=1
  fi
done < <(git ls-files '*_test.go' | xargs grep -H -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' | sort)
rm -f /tmp/snowhub-fuzz.$$
exit $status
