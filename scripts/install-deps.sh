#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks use.
# Idempotent: packages already present are not fetched again, and `apt-get update`
# runs once, only when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev
  # libraries
  libuv1-dev libboost-dev libssl-dev libpmem-dev librdmacm-dev libibverbs-dev
  rdma-core doctest-dev libkrb5-dev nlohmann-json3-dev
  # peers and third-party clients for the tests and the benchmarks
  samba samba-vfs-modules smbclient samba-testsuite python3 python3-impacket
  golang-go golang-github-hirochachacha-go-smb2-dev
  # a Kerberos realm of the tests' own (KDC, kadmin.local, kinit)
  krb5-kdc krb5-admin-server krb5-user faketime libnss-wrapper
  # test and bench tools
  procps iproute2 iperf3 gnuplot-nox openssl systemd
  # an XFS image with reflinks for FSCTL_DUPLICATE_EXTENTS_TO_FILE (reflink_share.py)
  xfsprogs
  # VM lab
  qemu-system-x86 qemu-utils mmdebstrap busybox-static socat e2fsprogs cpio
  dpkg-dev zstd kmod xz-utils patch
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Package scripts must not start system daemons (samba's smbd/nmbd) on this machine.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
