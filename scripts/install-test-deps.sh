#!/usr/bin/env bash
# The Debian packages the whole test suite needs (`npm test` runs this first;
# so does .ci/run, before `npm ci`, so that the eBPF helper gets built).
# As root it installs whatever is missing; otherwise it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc: the load fixtures; clang..zlib1g-dev: the eBPF helper (bpf/);
# chromium: the dashboard's browser test (Debian's, never a downloaded one).
PKGS=(gcc libc6-dev make python3 clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev chromium)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	[ ${#missing[@]} -eq 0 ] || echo "install-test-deps: missing ${missing[*]} (not root: apt-get install them; the tests that need them will fail)"
	exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-test-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}"
fi
# The kernel-module tests (QEMU, busybox, kernel build tools).
bash test/kmod/deps.sh
