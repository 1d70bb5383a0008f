#!/usr/bin/env bash
# The whole-hub tests of internal/app are most of `make test`'s time and
# spend it mostly waiting on peers (Chromium, RTSP servers, the broker), not
# on the CPU. So the browser tests (internal/app/browser_*_test.go) run in
# a second `go test` process beside everything else, and the two halves
# overlap instead of queueing behind each other.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKGS=${PKGS:-./...}
flags=(-race -count=1 -timeout 20m)
names=$(grep -h -E '^func Test[A-Za-z0-9_]*\(t \*testing\.T\)' internal/app/browser_*_test.go |
  sed -E 's/^func (Test[A-Za-z0-9_]*).*/\1/' | paste -sd'|' -)
if [ "$PKGS" != "./..." ] || [ -z "$names" ]; then
  exec $GO test "${flags[@]}" $PKGS
fi
browser_out=$(mktemp)
$GO test "${flags[@]}" -run "^($names)\$" ./internal/app >"$browser_out" 2>&1 &
browser=$!
$GO test "${flags[@]}" -skip "^($names)\$" ./...
status=$?
wait $browser || status=1
echo "--- the browser tests (internal/app/browser_*_test.go):"
cat "$browser_out"
rm -f "$browser_out"
exit $status
