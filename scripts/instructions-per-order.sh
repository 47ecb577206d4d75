#!/bin/bash
# Instructions per order, counted by valgrind's callgrind: a figure that does
# not move with a noisy or slow machine (docs/performance.md).
#
#   scripts/instructions-per-order.sh [N]
#
# Builds certorder, creates a sandbox CA with a P-256 issuer, then runs
# `certorder serve` under callgrind, zeroes the counters once startup is
# done, places N immediate-issuance orders one at a time with curl, and
# dumps the counters: their total over N is the instructions per order
# (the server's user space; the kernel's share is not counted). It does
# the same for the minimal-issuance floor (`certorder bench-minimal`), for
# that floor linting every leaf as certorder does (`--lint`), for the
# HTTP floor (`certorder bench-floor`, replaying the last real answer) and
# for N bare ECDSA P-256 signatures, and prints each as a multiple of one
# signature. Needs valgrind, curl, openssl and jq.
set -euo pipefail
N=${1:-30}
work=$(mktemp -d /tmp/certorder-cg-XXXXXX)
# The servers this script starts, ended by their ids on any exit.
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
cd "$(dirname "$0")/.."
# CERTORDER_BIN=FILE counts a certorder built beforehand (another commit's).
if [ -n "${CERTORDER_BIN:-}" ]; then
	cp "$CERTORDER_BIN" "$work/certorder"
else
	go build -o "$work/certorder" ./cmd/certorder
fi
# Go's asynchronous preemption signals crash callgrind, and so does the
# RDTSCP instruction (valgrind 3.19 does not know it) that the runtime
# reads the clock with when one of its locks is contended.
export GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off CERTORDER_ADMIN_KEY=CG$(openssl rand -hex 20 | tr a-f A-F)
port=$((20000 + RANDOM % 10000))

for i in $(seq 0 $((N - 1))); do
	csr=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=cg-$i.example.com" -keyout /dev/null 2>/dev/null)
	jq -n --arg csr "$csr" --arg cn "cg-$i.example.com" '{certificate: {common_name: $cn, csr: $csr, signature_hash: "sha256"},
		order_validity: {years: 1}, dcv_method: "dns-txt-token", skip_approval: true}' > "$work/body$i.json"
done

wait_healthy() {
	for _ in $(seq 1 240); do
		kill -0 "$1" 2>/dev/null || { echo "the server under callgrind died: see $2" >&2; exit 1; }
		curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && return
		sleep 0.5
	done
	echo "not healthy after 2 minutes" >&2
	exit 1
}

# count NAME ARGS...: instructions per order of the server started with ARGS.
count() {
	local name=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.$name" "$work/certorder" "$@" > "$work/vg.$name.log" 2>&1 &
	local vg=$!
	# count runs in a command substitution, a subshell of its own: its
	# server is ended by its id there, whatever way the subshell exits.
	serving=$vg
	trap 'kill -9 "$serving" 2> /dev/null || true' EXIT
	wait_healthy "$vg" "$work/vg.$name.log"
	# As certorder bench does: the account's lifecycle mail off, so that an
	# order is issuance, not the sandbox's outbox (the HTTP floor ignores it).
	curl -s -o /dev/null -X PUT -H "X-DC-DEVKEY: $CERTORDER_ADMIN_KEY" -H 'Content-Type: application/json' \
		--data '{"account_settings":[{"name":"confirmation_email_recipients","value":"[]"},{"name":"rejection_email_recipients","value":"[]"},{"name":"approval_email_recipients","value":"[]"},{"name":"renewal_email_recipients","value":"[]"}]}' \
		"http://127.0.0.1:$port/services/v2/account/settings"
	sleep 20 # the startup's background work (lint warm-up, CRLs) ends
	callgrind_control -z "$vg" > /dev/null
	for i in $(seq 0 $((N - 1))); do
		rm -f "$work/answer.json"
		code=$(curl -s -o "$work/answer.json" -w '%{http_code}' -X POST -H "X-DC-DEVKEY: $CERTORDER_ADMIN_KEY" \
			-H 'Content-Type: application/json' --data @"$work/body$i.json" \
			"http://127.0.0.1:$port/services/v2/order/certificate/ssl_dv_geotrust")
		[ "$code" = 201 ] || { echo "$name: order $i answered $code: $(head -c 300 "$work/answer.json")" >&2; tail -20 "$work/vg.$name.log" >&2; exit 1; }
	done
	callgrind_control -d "$vg" > /dev/null
	sleep 2
	kill -9 "$vg"
	wait "$vg" 2> /dev/null || true
	grep -h '^summary:' "$work"/cg."$name".* | awk -v n="$N" '{s += $2} END {printf "%.0f\n", s / n}'
}

# The CA is created natively first: key generation under callgrind is slow.
"$work/certorder" serve --sandbox --data "$work/data" --addr "127.0.0.1:$port" --issuer-key-type p256 > "$work/first.log" 2>&1 &
first=$!
pids+=("$first")
wait_healthy "$first" "$work/first.log"
kill "$first"
wait "$first" || true

order=$(count serve serve --sandbox --rate-limit off --data "$work/data" --addr "127.0.0.1:$port" --issuer-key-type p256 --log-level warn)
cp "$work/answer.json" "$work/real-answer.json"
floor=$(count floor bench-floor --addr "127.0.0.1:$port" --answer "$work/real-answer.json")
mkdir "$work/minimal"
minimal=$(count minimal bench-minimal --addr "127.0.0.1:$port" --key-type p256 --data "$work/minimal" --answer-size "$(wc -c < "$work/real-answer.json")")
mkdir "$work/minimal-lint"
lintfloor=$(count minimal-lint bench-minimal --lint --addr "127.0.0.1:$port" --key-type p256 --data "$work/minimal-lint" --answer-size "$(wc -c < "$work/real-answer.json")")

# One bare P-256 signature: the same count for 0 and 500 signatures.
mkdir "$work/sig"
cat > "$work/sig/main.go" << 'GO'
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"strconv"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256([]byte("certorder"))
	for range n {
		if _, err := ecdsa.SignASN1(rand.Reader, k, h[:]); err != nil {
			panic(err)
		}
	}
}
GO
printf 'module sig\ngo 1.26\n' > "$work/sig/go.mod"
(cd "$work/sig" && go build -o sig .)
ir() { valgrind --tool=callgrind --callgrind-out-file="$work/sig.$1" "$work/sig/sig" "$1" > /dev/null 2>&1; awk '/^summary:/ {print $2}' "$work/sig.$1"; }
sig=$(( ($(ir 500) - $(ir 0)) / 500 ))

# CG_KEEP=DIR keeps the callgrind profiles (callgrind_annotate reads them).
if [ -n "${CG_KEEP:-}" ]; then cp "$work"/cg.* "$CG_KEEP"/; fi

awk -v o="$order" -v f="$floor" -v m="$minimal" -v l="$lintfloor" -v s="$sig" -v n="$N" 'BEGIN {
	printf "instructions (callgrind Ir), %d orders one at a time, P-256 issuer:\n", n
	printf "  one bare ECDSA P-256 signature  %10d\n", s
	printf "  one order (certorder serve)     %10d  = %.1f signatures\n", o, o / s
	printf "  one order of the minimal floor  %10d  = %.1f signatures\n", m, m / s
	printf "  the minimal floor, linted       %10d  = %.1f signatures\n", l, l / s
	printf "  one answer of the HTTP floor    %10d  = %.2f signatures\n", f, f / s
	printf "target: one order at most 12 bare P-256 signatures: %s (%.1f)\n", (o / s <= 12 ? "PASS" : "FAIL"), o / s
}'
