#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the kernel-module QEMU harness needs.
# Idempotent: runs apt-get only when something is missing.
set -euo pipefail

PKGS=(qemu-system-x86 busybox-static cpio gzip make gcc gcc-12 libc6-dev
      dwarves kmod xz-utils zstd bc flex bison libelf-dev perl)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
