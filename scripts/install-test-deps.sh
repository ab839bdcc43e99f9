#!/usr/bin/env bash
# The Debian packages the whole test suite needs (`npm test` runs this first;
# so does .ci/run, before `npm ci`, so that the eBPF helper gets built).
# As root it installs whatever is missing; otherwise it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc: the load fixtures; clang..zlib1g-dev: the eBPF helper (bpf/);
# chromium: the dashboard's browser test (Debian's, never a downloaded one);
# prometheus (promtool, and a real server the metrics test scrapes with) and
# golang-go (`go tool pprof` reads the pprof export): without their
# recommends (node-exporter and friends are not needed).
PKGS=(gcc libc6-dev make python3 clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev chromium)
LEAN_PKGS=(prometheus golang-go)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "${PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
lean=()
for p in "${LEAN_PKGS[@]}"; do
	installed "$p" || lean+=("$p")
done

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	[ $((${#missing[@]} + ${#lean[@]})) -eq 0 ] || echo "install-test-deps: missing ${missing[*]} ${lean[*]} (not root: apt-get install them; the tests that need them will fail)"
	exit 0
fi
if [ $((${#missing[@]} + ${#lean[@]})) -gt 0 ]; then
	echo "install-test-deps: installing ${missing[*]} ${lean[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	[ ${#missing[@]} -eq 0 ] || apt-get install -y -qq "${missing[@]}"
	[ ${#lean[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${lean[@]}"
fi
# The kernel-module tests (QEMU, busybox, kernel build tools).
bash test/kmod/deps.sh
