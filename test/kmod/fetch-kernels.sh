#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian kernels (image + headers) for the load_monitor QEMU tests
# without touching the system's apt configuration.
#
# usage: fetch-kernels.sh [5.10|6.1|6.12 ...]     (default: all three)
#
# For each target it prints one line "<target> <kernel-release> <dir>" on
# stdout.  <dir> contains:
#   vmlinuz                     the kernel image
#   config                      the kernel config
#   root/usr/src/linux-headers-<rel>          (build dir, amd64 flavour)
#   root/usr/src/linux-headers-<abi>-common   (included by the above)
#   root/usr/lib/linux-kbuild-*               (scripts, tools)
#
# A last line "checkpatch - <path>" names scripts/checkpatch.pl taken from
# Debian's linux-source package.
#
# Everything is cached under $LOADMON_KMOD_CACHE
# (default /var/cache/loadmon-kmod-test); a second run downloads nothing.
# Set LOADMON_KMOD_REFRESH=1 to re-resolve the newest versions.
set -euo pipefail

CACHE=${LOADMON_KMOD_CACHE:-/var/cache/loadmon-kmod-test}
MIRROR=${LOADMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${LOADMON_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "fetch-kernels: $*" >&2; }

sources_for() {
	local opt="[arch=amd64 signed-by=$KEYRING]"

	case "$1" in
	5.10)
		echo "deb $opt $MIRROR bullseye main"
		echo "deb $opt $SECMIRROR bullseye-security main"
		;;
	6.1)
		echo "deb $opt $MIRROR bookworm main"
		echo "deb $opt $MIRROR bookworm-updates main"
		echo "deb $opt $SECMIRROR bookworm-security main"
		;;
	6.12)
		echo "deb $opt $MIRROR bookworm-backports main"
		;;
	*)
		log "unknown target $1 (want 5.10, 6.1 or 6.12)"
		return 1
		;;
	esac
}

# Run apt-get/apt-cache with a private configuration rooted at $APTDIR.
papt() {
	local tool=$1
	shift
	"$tool" -q \
		-o Dir::Etc::SourceList="$APTDIR/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State::Lists="$APTDIR/lists" \
		-o Dir::State::Status=/dev/null \
		-o Dir::Cache="$APTDIR/cache" \
		-o Dir::Cache::Archives="$APTDIR/archives" \
		-o APT::Sandbox::User=root \
		-o APT::Get::AllowUnauthenticated=false \
		"$@"
}

# Newest version string of package $1 in the private lists.
candidate() {
	papt apt-cache policy "$1" | awk '/Candidate:/ { print $2; exit }'
}

# Name of the package the metapackage $1 depends on matching regex $2.
dep_matching() {
	papt apt-cache depends "$1" |
		awk -v re="$2" '$1 ~ /Depends:/ && $2 ~ re { print $2; exit }'
}

fetch_one() {
	local target=$1 dir rel abi common kbuild pkgs deb
	local stamp="$CACHE/$target.release"

	if [ -z "${LOADMON_KMOD_REFRESH:-}" ] && [ -s "$stamp" ]; then
		rel=$(cat "$stamp")
		if [ -f "$CACHE/$rel/.complete" ]; then
			echo "$target $rel $CACHE/$rel"
			return 0
		fi
	fi

	APTDIR="$CACHE/apt-$target"
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache" \
		"$APTDIR/archives/partial"
	sources_for "$target" >"$APTDIR/sources.list"
	log "$target: apt-get update (private config)"
	papt apt-get update >&2

	# linux-image-amd64 -> linux-image-<rel>
	local img
	img=$(dep_matching linux-image-amd64 '^linux-image-[0-9]')
	[ -n "$img" ] || { log "$target: cannot resolve linux-image-amd64"; return 1; }
	rel=${img#linux-image-}
	dir="$CACHE/$rel"
	if [ -f "$dir/.complete" ]; then
		echo "$rel" >"$stamp"
		echo "$target $rel $dir"
		return 0
	fi

	# linux-headers-<rel> depends on -common and on linux-kbuild-*
	common=$(dep_matching "linux-headers-$rel" '^linux-headers-.*-common')
	kbuild=$(dep_matching "linux-headers-$rel" '^linux-kbuild-')
	if [ -z "$common" ] || [ -z "$kbuild" ]; then
		log "$target: cannot resolve header dependencies of $rel"
		return 1
	fi
	pkgs=("linux-image-$rel" "linux-headers-$rel" "$common" "$kbuild")
	log "$target: $rel: downloading ${pkgs[*]}"

	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
	(cd "$dir.tmp/debs" && papt apt-get download "${pkgs[@]}" >&2)

	for deb in "$dir.tmp"/debs/*.deb; do
		case "$(basename "$deb")" in
		linux-image-*)
			# only the kernel and its config: no modules needed
			mkdir -p "$dir.tmp/img"
			dpkg-deb --fsys-tarfile "$deb" |
				tar -x -C "$dir.tmp/img" --wildcards \
					'./boot/*'
			cp "$dir.tmp/img/boot/vmlinuz-$rel" "$dir.tmp/vmlinuz"
			cp "$dir.tmp/img/boot/config-$rel" "$dir.tmp/config"
			rm -rf "$dir.tmp/img"
			;;
		*)
			dpkg-deb -x "$deb" "$dir.tmp/root"
			;;
		esac
	done
	rm -rf "$dir.tmp/debs"
	(cd "$dir.tmp/root/usr/src" && ls -d linux-headers-*) >&2
	echo "$rel" >"$dir.tmp/release"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	touch "$dir/.complete"
	echo "$rel" >"$stamp"
	echo "$target $rel $dir"
}

# checkpatch.pl is not in the headers packages: take it (with its data
# files) from linux-source-* of bookworm-backports, once.
fetch_checkpatch() {
	local dir="$CACHE/checkpatch" src tarball

	if [ -x "$dir/scripts/checkpatch.pl" ]; then
		echo "checkpatch - $dir/scripts/checkpatch.pl"
		return 0
	fi
	APTDIR="$CACHE/apt-6.12"
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache" \
		"$APTDIR/archives/partial"
	sources_for 6.12 >"$APTDIR/sources.list"
	[ -n "$(ls "$APTDIR/lists" 2>/dev/null | grep -v partial)" ] ||
		papt apt-get update >&2
	src=$(papt apt-cache depends linux-source |
		awk '$1 ~ /Depends:/ && $2 ~ /^linux-source-/ { print $2; exit }')
	[ -n "$src" ] || { log "cannot resolve linux-source"; return 1; }
	log "checkpatch: downloading $src"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/deb"
	(cd "$dir.tmp/deb" && papt apt-get download "$src" >&2)
	dpkg-deb -x "$dir.tmp"/deb/*.deb "$dir.tmp/deb/x"
	tarball=$(ls "$dir.tmp"/deb/x/usr/src/linux-source-*.tar.*)
	tar -x -C "$dir.tmp" --strip-components=1 -f "$tarball" \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	rm -rf "$dir.tmp/deb"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "checkpatch - $dir/scripts/checkpatch.pl"
}

main() {
	local t targets=("$@")

	[ ${#targets[@]} -gt 0 ] || targets=(5.10 6.1 6.12)
	mkdir -p "$CACHE"
	for t in "${targets[@]}"; do
		fetch_one "$t"
	done
	fetch_checkpatch
}

main "$@"
