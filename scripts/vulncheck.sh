#!/usr/bin/env bash
# govulncheck over the module: known vulnerabilities in code the hub can
# actually reach, for the Go toolchain go.mod names (its toolchain line;
# GOTOOLCHAIN=auto fetches it through the module proxy).
#
# The vulnerability database is https://vuln.go.dev. Where that is not
# reachable but the module proxy is, the database is built from the
# golang.org/x/vulndb module (its OSV files, indexed by its cmd/indexdb)
# into ~/.cache/snowhub/vulndb/VERSION. SNOWHUB_VULNDB=file:///path uses a
# copy of your own. If no database can be had, the check is skipped with a
# warning, or fails with SNOWHUB_VULN=required.
set -uo pipefail
GO=${GO:-go}
VERSION=v1.9.0
bin="$($GO env GOPATH)/bin/govulncheck"
if ! [ -x "$bin" ]; then
	$GO install "golang.org/x/vuln/cmd/govulncheck@$VERSION" || { echo "vulncheck: cannot install govulncheck@$VERSION" >&2; exit 1; }
fi
export GOTOOLCHAIN=auto

unreachable() {
	echo "vulncheck: no vulnerability database reachable; NOT checked ($1)." >&2
	echo "           Set SNOWHUB_VULNDB=file:///path/to/a/copy, or run where https://vuln.go.dev or the module proxy is reachable." >&2
	[ "${SNOWHUB_VULN:-}" = required ] && exit 1
	exit 0
}

# localdb builds the database from the golang.org/x/vulndb module.
localdb() {
	local info dir ver out
	info="$($GO mod download -json golang.org/x/vulndb@latest 2>/dev/null)" || return 1
	dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$info")"
	ver="$(sed -n 's/^\t"Version": "\(.*\)",$/\1/p' <<<"$info")"
	[ -n "$dir" ] && [ -n "$ver" ] || return 1
	out="${XDG_CACHE_HOME:-$HOME/.cache}/snowhub/vulndb/$ver"
	if ! [ -f "$out/index/modules.json" ]; then
		local src
		src="$(mktemp -d)"
		cp -r "$dir/." "$src" && chmod -R u+w "$src" &&
			(cd "$src" && GOFLAGS=-mod=mod $GO run ./cmd/indexdb -vulns data/osv -out "$out.tmp" >/dev/null) &&
			rm -rf "$out" && mv "$out.tmp" "$out"
		local rc=$?
		rm -rf "$src" "$out.tmp"
		[ $rc -eq 0 ] || return 1
	fi
	echo "file://$out"
}

run() { "$bin" "$@" "${PKGS[@]}" 2>&1; }
PKGS=("${@:-./...}")
echo "vulncheck: govulncheck $VERSION, $($GO version)"
if [ -n "${SNOWHUB_VULNDB:-}" ]; then
	out="$(run -db "$SNOWHUB_VULNDB")"; status=$?
else
	out="$(run)"; status=$?
	if [ $status -ne 0 ] && grep -qE 'fetching vulnerabilities|no such host|dial tcp' <<<"$out"; then
		db="$(localdb)" || unreachable "vuln.go.dev unreachable and golang.org/x/vulndb not downloadable"
		echo "vulncheck: vuln.go.dev unreachable; using $db (from golang.org/x/vulndb)"
		out="$(run -db "$db")"; status=$?
	fi
fi
if [ $status -ne 0 ] && grep -qE 'fetching vulnerabilities|no such host|dial tcp' <<<"$out"; then
	unreachable "$(grep -m1 -E 'fetching|dial' <<<"$out")"
fi
echo "$out"
exit $status
