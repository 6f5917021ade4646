#!/usr/bin/env bash
# Builds the VM lab guest assets into a cache directory outside the source tree:
#   kernel      Debian 12's linux-image (vmlinuz + modules), unpacked from the .deb
#   rootfs.img  ext4 image of a minimal Debian 12 (mmdebstrap --variant=apt) holding the
#               kernel modules, the guest tools (rdma-core, cifs-utils, ndctl, ...) and
#               /usr/local/sbin/vmlab-init
#   initrd.img  busybox initramfs that loads virtio/ext4 and switches to the root image
#   smbdirect/  cifs.ko and ksmbd.ko rebuilt with SMB Direct (CONFIG_CIFS_SMB_DIRECT,
#               CONFIG_SMB_SERVER_SMBDIRECT) and the fixes in patches/, plus ksmbd-tools
#               unpacked (it conflicts with samba in the root image)
#
# Assets live in $SMB_VMLAB_CACHE (default ~/.cache/smb3d-vmlab)/assets-<key>, where <key>
# hashes every input (this script, guest/, patches/, the package list and the kernel
# version). Unchanged inputs are not rebuilt; `current` points at the last complete set.
# The SMB Direct module stage may fail on its own (a patch that no longer applies, a build
# error): the base assets stay usable, this script exits 1 naming the reason kept in
# smbdirect/FAILED (at every later run too, until an input changes), and the tests that
# need the modules fail with it.
#
# Usage: build-assets.sh [--print-dir] [--force]
#   SMB_VMLAB_KERNEL=6.1.0-NN-amd64   pin the kernel ABI (default: linux-image-amd64's)
#   SMB_VMLAB_MIRROR=URL              Debian mirror (default: the one apt is configured for)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SMB_VMLAB_CACHE:-$HOME/.cache/smb3d-vmlab}
suite=bookworm
print_dir=0 force=0
for a in "$@"; do
  case $a in
    --print-dir) print_dir=1 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--print-dir] [--force]" >&2; exit 2 ;;
  esac
done

log() { echo "build-assets: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Packages of the guest root image. Libraries for host-built binaries of the project
# (libuv, OpenSSL, libpmem, verbs) are included so those binaries run in the guest, and
# those of ksmbd-tools (GLib, libnl-genl), which is unpacked rather than installed.
guest_packages=(
  mount kmod iproute2 e2fsprogs procps coreutils util-linux python3 openssl
  rdma-core ibverbs-utils rdmacm-utils perftest ibverbs-providers
  cifs-utils smbclient samba keyutils
  ndctl daxctl
  libuv1 libssl3 libpmem1 libibverbs1 librdmacm1 libstdc++6
  libglib2.0-0 libnl-3-200 libnl-genl-3-200
)
# Modules the initramfs loads to reach the root image and the shared directories.
initrd_modules=(virtio_pci virtio_blk virtio_net ext4 9p 9pnet_virtio)

# A missing host tool is a skip (exit 77): the tier cannot run here. With
# SMB_TEST_REQUIRE_ALL=1 (scripts/test.sh, which installs every tool) it is a failure.
missing() {
  if [ "${SMB_TEST_REQUIRE_ALL:-0}" != 0 ]; then
    echo "FAIL: $* (run scripts/install-deps.sh; SMB_TEST_REQUIRE_ALL=1)"
    exit 1
  fi
  echo "SKIPPED: $* (run scripts/install-deps.sh)"
  exit 77
}
# The SMB Direct module stage of an asset set failed (smbdirect/FAILED): the base assets
# serve the other tests, but this step fails, naming why, as do the tests that need them.
smbdirect_failed() {
  if [ -e "$1/smbdirect/FAILED" ]; then
    echo "FAIL: the SMB Direct cifs.ko/ksmbd.ko stage failed: $(cat "$1/smbdirect/FAILED")"
    exit 1
  fi
}
export PATH=$PATH:/usr/sbin:/sbin
for t in qemu-system-x86_64 mmdebstrap mke2fs apt-get dpkg-deb depmod modprobe cpio \
         sha256sum xz patch gcc make socat; do
  command -v "$t" >/dev/null || missing "$t not found"
done
busybox=/bin/busybox  # Debian package busybox-static
[ -x "$busybox" ] || missing "$busybox not found (Debian package busybox-static)"

# --- which kernel
kernel_abi=${SMB_VMLAB_KERNEL:-}
if [ -z "$kernel_abi" ]; then
  kernel_abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
               sed -n 's/.*Depends: linux-image-\(6\.[0-9.]*-[0-9]*-amd64\)$/\1/p' | head -1)
  if [ -z "$kernel_abi" ] && [ "$(id -u)" = 0 ]; then
    log "apt lists have no linux-image-amd64: apt-get update"
    apt-get update -q >&2 || true
    kernel_abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
                 sed -n 's/.*Depends: linux-image-\(6\.[0-9.]*-[0-9]*-amd64\)$/\1/p' | head -1)
  fi
fi
if [ -z "$kernel_abi" ]; then
  if [ -e "$cache/current/complete" ]; then
    log "kernel version unknown (no apt lists); keeping $(readlink -f "$cache/current")"
    [ $print_dir = 1 ] && readlink -f "$cache/current"
    exit 0
  fi
  die "cannot find the kernel package (apt-cache depends linux-image-amd64)"
fi
kernel_version=$(apt-cache show --no-all-versions "linux-image-$kernel_abi" 2>/dev/null |
                 sed -n 's/^Version: //p' | head -1)
[ -n "$kernel_version" ] || die "linux-image-$kernel_abi not known to apt"

key=$( {
  echo "suite=$suite kernel=$kernel_abi/$kernel_version"
  echo "packages=${guest_packages[*]} initrd=${initrd_modules[*]}"
  cd "$here" && find build-assets.sh build-smbdirect.sh guest patches -type f 2>/dev/null | LC_ALL=C sort | xargs sha256sum
} | sha256sum | cut -c1-16)
out=$cache/assets-$key

if [ $force = 0 ] && [ -e "$out/complete" ]; then
  log "assets up to date: $out"
  ln -sfn "assets-$key" "$cache/current"
  [ $print_dir = 1 ] && echo "$out"
  smbdirect_failed "$out"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per cache.
exec 9>"$cache/.lock"
flock -w 1800 9 || die "another build holds $cache/.lock"
if [ $force = 0 ] && [ -e "$out/complete" ]; then
  ln -sfn "assets-$key" "$cache/current"
  [ $print_dir = 1 ] && echo "$out"
  smbdirect_failed "$out"
  exit 0
fi

start=$(date +%s)
work=$out/work
rm -rf "$out"
mkdir -p "$work/debs" "$out"
log "building $out (kernel $kernel_abi $kernel_version)"

# --- mirror
mirror=${SMB_VMLAB_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
           sed -n 's|^URIs: *\(\S*/debian\)/*$|\1|p' | head -1)
fi
if [ -z "$mirror" ]; then
  mirror=$(sed -n "s|^deb \(\S*/debian\)/* $suite .*|\1|p" /etc/apt/sources.list 2>/dev/null | head -1)
fi
mirror=${mirror:-http://deb.debian.org/debian}
security=${SMB_VMLAB_SECURITY_MIRROR:-${mirror%/debian}/debian-security}

# --- kernel, headers, sources
(cd "$work/debs" && apt-get download -q \
   "linux-image-$kernel_abi=$kernel_version" \
   "linux-headers-$kernel_abi=$kernel_version" \
   "linux-headers-${kernel_abi%-amd64}-common=$kernel_version" \
   "linux-kbuild-6.1=$kernel_version" >&2) 2>&1 | grep -v 'unsandboxed' >&2 || true
ls "$work/debs"/linux-image-*.deb >/dev/null 2>&1 || die "apt-get download of the kernel failed"

# --- root image
root=$work/root
log "mmdebstrap $suite from $mirror"
mmdebstrap --variant=apt --components=main --quiet \
  --include="$(IFS=,; echo "${guest_packages[*]}")" \
  --customize-hook='rm -f "$1"/etc/hostname; echo vmlab > "$1"/etc/hostname' \
  "$suite" "$root" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" \
  "deb $security $suite-security main" >&2 \
  || die "mmdebstrap failed"

# The usrmerged /lib is a symlink: keep it while unpacking the kernel.
dpkg-deb --fsys-tarfile "$work/debs/linux-image-$kernel_abi"_*.deb |
  tar -x -C "$root" --keep-directory-symlink
[ -L "$root/lib" ] || die "unpacking the kernel replaced the /lib symlink"
depmod -b "$root" "$kernel_abi"
cp "$root/boot/vmlinuz-$kernel_abi" "$out/vmlinuz"
install -m 0755 "$here/guest/vmlab-init" "$root/usr/local/sbin/vmlab-init"
install -m 0644 "$here/guest/vmlab-lib.sh" "$root/usr/local/lib/vmlab-lib.sh"
mkdir -p "$root/vmlab" "$root/vmlab-assets"
# Guests have no apt: drop the package lists and caches.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
       "$root"/usr/share/man "$root"/usr/share/locale
size_mib=$(( $(du -sm "$root" | cut -f1) + 1024 ))
rm -f "$out/rootfs.img"
mke2fs -q -t ext4 -L vmlabroot -E root_owner=0:0 -d "$root" "$out/rootfs.img" "${size_mib}M"

# --- initramfs
ird=$work/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$ird/bin/busybox"
install -m 0755 "$here/guest/initrd-init" "$ird/init"
: > "$ird/modules.order"
modprobe -d "$root" -S "$kernel_abi" --show-depends -a "${initrd_modules[@]}" |
  awk '$1 == "insmod" { print $2 }' | while read -r ko; do
    name=$(basename "$ko")
    grep -qx "$name" "$ird/modules.order" && continue
    cp "$ko" "$ird/lib/modules/$name"
    echo "$name" >> "$ird/modules.order"
  done
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out/initrd.img"

cat > "$out/assets.env" <<ENV
VMLAB_KERNEL_ABI=$kernel_abi
VMLAB_KERNEL_VERSION=$kernel_version
VMLAB_KERNEL=$out/vmlinuz
VMLAB_INITRD=$out/initrd.img
VMLAB_ROOTFS=$out/rootfs.img
ENV
log "base assets built in $(( $(date +%s) - start )) s"

# --- SMB Direct modules: a failure here leaves smbdirect/FAILED and fails this step once
# the base assets are in place (smbdirect_failed below).
if ! "$here/build-smbdirect.sh" "$out" "$kernel_abi" "$kernel_version"; then
  mkdir -p "$out/smbdirect"
  [ -e "$out/smbdirect/FAILED" ] || echo "build-smbdirect.sh failed" > "$out/smbdirect/FAILED"
  log "SMB Direct modules not built: $(cat "$out/smbdirect/FAILED")"
fi

rm -rf "$work"
touch "$out/complete"
ln -sfn "assets-$key" "$cache/current"
# Older asset sets are removed once a new one is complete.
for old in "$cache"/assets-*; do
  [ "$old" = "$out" ] || rm -rf "$old"
done
log "assets complete in $(( $(date +%s) - start )) s: $out"
[ $print_dir = 1 ] && echo "$out"
smbdirect_failed "$out"
exit 0
