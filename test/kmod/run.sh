#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build load_monitor.ko for Debian kernels and test it in QEMU (TCG).
#
# usage: test/kmod/run.sh [5.10|6.1|6.12|<kernel-release> ...]   (default: all)
#
# env:
#   LOADMON_KMOD_OUT      artifacts (default test/kmod/out), one dir per
#                         kernel release: build.log checkpatch.txt serial.log
#                         load_monitor-*.txt dmesg.txt results.txt bench.txt
#   LOADMON_KMOD_CACHE    downloaded kernels (default /var/cache/loadmon-kmod-test)
#   LOADMON_KMOD_TIMEOUT  seconds before a guest is killed (default 480)
#   LOADMON_KMOD_NODEPS=1 skip test/kmod/deps.sh
#
# exit status: 0 all good, 1 a build or boot failed, 2 an in-guest check failed
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${LOADMON_KMOD_OUT:-$HERE/out}
TIMEOUT=${LOADMON_KMOD_TIMEOUT:-480}
export LOADMON_KMOD_CACHE=${LOADMON_KMOD_CACHE:-/var/cache/loadmon-kmod-test}

log() { echo "kmod: $*" >&2; }

# ---- helpers -------------------------------------------------------------

# make arguments for an unpacked Debian header tree
kbuild_args() {
	local dir=$1 rel=$2 amd64 common

	amd64="$dir/root/usr/src/linux-headers-$rel"
	common=$(sed -n 's|^include /usr/src/\(linux-headers-.*\)/Makefile$|\1|p' \
		"$amd64/Makefile")
	echo "KDIR=$amd64"
	echo "KMAKEFILE=$dir/root/usr/src/$common/Makefile"
	# Debian builds 5.10 with gcc-10, which bookworm does not have
	if grep -q '^CONFIG_CC_VERSION_TEXT="gcc-10' "$dir/config" &&
		! command -v gcc-10 >/dev/null; then
		echo "KBUILD_ARGS=CC=gcc-12"
	fi
}

build_module() {
	local dir=$1 rel=$2 out=$3 args=()

	mkdir -p "$out/build"
	cp "$ROOT/kernel/load_monitor.c" "$ROOT/kernel/Kbuild" \
		"$ROOT/kernel/Makefile" "$out/build/"
	mapfile -t args < <(kbuild_args "$dir" "$rel")
	if ! make -C "$out/build" "${args[@]}" >"$out/build.log" 2>&1; then
		log "$rel: build failed (see $out/build.log)"
		return 1
	fi
	if grep -Ei 'warning:|error:' "$out/build.log" >/dev/null; then
		log "$rel: build has warnings"
	fi
	modinfo -F vermagic "$out/build/load_monitor.ko" >>"$out/build.log"
}

build_helpers() {
	local h

	mkdir -p "$OUT/helpers"
	for h in lm-fixture lm-procscan; do
		gcc -static -O2 -Wall -Wextra -pthread -o "$OUT/helpers/$h" \
			"$HERE/guest/$h.c"
	done
}

# loadmon itself for the guest's CLI checks (kmod load, then watch): this
# host's node with the shared libraries it needs (in /lm/lib; its ELF
# interpreter where node looks for it), the built dist/ and commander.
# Without dist/ the guest reports FAIL for those checks.
stage_loadmon() {
	local st=$1 node lib

	if [ ! -f "$ROOT/dist/cli/main.js" ]; then
		log "dist/ is not built (npm run build): the guest's loadmon checks will fail"
		return 0
	fi
	node=$(readlink -f "$(command -v node)")
	mkdir -p "$st/lm/lib" "$st/lib64" "$st/lm/loadmon/node_modules"
	cp "$node" "$st/lm/node"
	for lib in $(ldd "$node" | awk '/=> \// { print $3 }'); do
		cp -L "$lib" "$st/lm/lib/"
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$st/lib64/"
	cp -r "$ROOT/dist" "$ROOT/package.json" "$st/lm/loadmon/"
	cp -r "$ROOT/node_modules/commander" "$st/lm/loadmon/node_modules/"
}

make_initramfs() {
	local out=$1 st="$1/initramfs"

	rm -rf "$st"
	mkdir -p "$st/bin" "$st/dev" "$st/lm" "$st/proc" "$st/sys" "$st/tmp"
	cp /bin/busybox "$st/bin/busybox"
	mknod "$st/dev/console" c 5 1
	mknod "$st/dev/null" c 1 3
	install -m 0755 "$HERE/guest/init.sh" "$st/init"
	cp "$out/build/load_monitor.ko" "$OUT/helpers/lm-fixture" \
		"$OUT/helpers/lm-procscan" "$st/lm/"
	stage_loadmon "$st"
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) \
		>"$out/initramfs.cpio.gz"
	rm -rf "$st"
}

boot() {
	local dir=$1 out=$2 rc=0

	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -m 1024 -smp 2 \
		-nographic -no-reboot \
		-kernel "$dir/vmlinuz" -initrd "$out/initramfs.cpio.gz" \
		-append 'console=ttyS0 panic=-1 loglevel=1 oops=panic' \
		</dev/null >"$out/serial.raw" 2>"$out/qemu.stderr" || rc=$?
	tr -d '\r' <"$out/serial.raw" >"$out/serial.log"
	rm -f "$out/serial.raw"
	return $rc
}

# cut "@@LM BEGIN name@@ ... @@LM END name@@" sections into files
extract() {
	local out=$1

	awk -v out="$out" '
		/^@@LM BEGIN .*@@$/ {
			name = $3; sub(/@@$/, "", name)
			file = out "/" name ".txt"; printf "" > file; next
		}
		/^@@LM END .*@@$/ { close(file); file = ""; next }
		file != "" { print >> file }
	' "$out/serial.log"
	grep -E '^@@LM (PASS|FAIL|INFO) ' "$out/serial.log" |
		sed 's/^@@LM //' >>"$out/results.txt" || true
}

# walk_ns per 1,000 threads (module) vs the /proc/*/task/*/stat scan
bench() {
	local out=$1

	[ -f "$out/bench.txt" ] || return 0
	awk '
		function med(a, n,   i, j, t) {
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		/^snapshot / {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			lm[++nl] = v["walk_ns"] * 1000 / v["threads"]; thr = v["threads"]
		}
		/^procscan / {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			ps[++np] = v["ns"] * 1000 / v["threads"]; pthr = v["threads"]
		}
		END {
			if (nl) printf "summary module_walk_ns_per_1000_threads=%.0f threads=%d samples=%d\n", med(lm, nl), thr, nl
			if (np) printf "summary procfs_scan_ns_per_1000_threads=%.0f threads=%d samples=%d\n", med(ps, np), pthr, np
		}
	' "$out/bench.txt" >>"$out/bench.txt"
}

run_kernel() {
	local target=$1 rel=$2 dir=$3 out="$OUT/$2" rc=0

	rm -rf "$out"
	mkdir -p "$out"
	echo "$rel" >"$out/kernel-release.txt"
	: >"$out/results.txt"
	perl "$CHECKPATCH" --no-tree --no-color -f "$ROOT/kernel/load_monitor.c" \
		"$ROOT/native/waiter.c" >"$out/checkpatch.txt" 2>&1 || true

	log "$rel: building"
	if ! build_module "$dir" "$rel" "$out"; then
		echo "FAIL build" >>"$out/results.txt"
		return 1
	fi
	echo "PASS build" >>"$out/results.txt"
	make_initramfs "$out"

	log "$rel: booting (timeout ${TIMEOUT}s)"
	local t0=$SECONDS
	boot "$dir" "$out" || rc=$?
	log "$rel: guest ran $((SECONDS - t0))s (exit $rc)"
	echo "INFO guest_seconds $((SECONDS - t0))" >>"$out/results.txt"
	extract "$out"
	bench "$out"
	if ! grep -q '^@@LM DONE@@' "$out/serial.log"; then
		log "$rel: guest did not finish (see $out/serial.log)"
		echo "FAIL boot: scenario did not finish" >>"$out/results.txt"
		return 1
	fi
	echo "PASS boot" >>"$out/results.txt"
	if grep -q '^FAIL' "$out/results.txt"; then
		log "$rel: in-guest failures:"
		grep '^FAIL' "$out/results.txt" >&2
		return 2
	fi
	log "$rel: all in-guest checks passed"
}

main() {
	local targets=("$@") t line rel dir status=0 rc fetched

	[ ${#targets[@]} -gt 0 ] || targets=(5.10 6.1 6.12)
	for t in "${!targets[@]}"; do	# accept full releases too
		case "${targets[$t]}" in
		5.10*) targets[$t]=5.10 ;;
		6.1 | 6.1.*) targets[$t]=6.1 ;;
		6.12*) targets[$t]=6.12 ;;
		esac
	done

	[ -n "${LOADMON_KMOD_NODEPS:-}" ] || bash "$HERE/deps.sh" >&2
	fetched=$(bash "$HERE/fetch-kernels.sh" "${targets[@]}")
	CHECKPATCH=$(echo "$fetched" | awk '$1 == "checkpatch" { print $3 }')
	mkdir -p "$OUT"
	build_helpers

	while read -r t rel dir; do
		[ "$t" != checkpatch ] || continue
		rc=0
		run_kernel "$t" "$rel" "$dir" || rc=$?
		if [ $rc -gt $status ] || [ $rc -eq 1 ]; then
			[ $status -eq 1 ] || status=$rc
		fi
	done <<<"$fetched"
	echo "$fetched" | awk '$1 != "checkpatch" { print $2 }' >"$OUT/kernels.txt"
	log "done, status $status, artifacts in $OUT"
	return $status
}

main "$@"
