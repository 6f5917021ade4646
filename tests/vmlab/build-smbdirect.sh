#!/usr/bin/env bash
# Asset stage of build-assets.sh: rebuilds cifs.ko and ksmbd.ko out of tree with SMB
# Direct (Debian's modules are built without CONFIG_CIFS_SMB_DIRECT and
# CONFIG_SMB_SERVER_SMBDIRECT), applies patches/ksmbd-*.patch, and unpacks ksmbd-tools
# (it conflicts with samba, so it is not installed in the root image).
#
# Usage: build-smbdirect.sh OUT KERNEL_ABI KERNEL_VERSION
#   reads OUT/work/debs (the linux-headers/linux-kbuild .debs build-assets.sh fetched),
#   writes OUT/smbdirect/{cifs.ko,ksmbd.ko,ksmbd-tools/}, or OUT/smbdirect/FAILED with the
#   reason and a non-zero exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1 abi=$2 version=$3
work=$out/work/smbdirect
dest=$out/smbdirect
rm -rf "$work" "$dest"
mkdir -p "$work" "$dest"

failed() { echo "$*" > "$dest/FAILED"; echo "build-smbdirect: $*" >&2; exit 1; }
log() { echo "build-smbdirect: $*" >&2; }

start=$(date +%s)
(cd "$out/work/debs" && apt-get download -q "linux-source-6.1=$version" ksmbd-tools 2>&1 |
   grep -v unsandboxed >&2) || true
src_deb=$(ls "$out/work/debs"/linux-source-6.1_*.deb 2>/dev/null | head -1)
tools_deb=$(ls "$out/work/debs"/ksmbd-tools_*.deb 2>/dev/null | head -1)
[ -n "$src_deb" ] || failed "apt-get download linux-source-6.1=$version failed"
[ -n "$tools_deb" ] || failed "apt-get download ksmbd-tools failed"

# Headers and kbuild, unpacked (not installed). The arch headers' Makefile includes the
# common one by absolute path: point it at the unpacked copy.
kb=$work/kbuild
mkdir -p "$kb"
for d in "$out/work/debs"/linux-headers-*.deb "$out/work/debs"/linux-kbuild-6.1_*.deb; do
  dpkg-deb --fsys-tarfile "$d" | tar -x -C "$kb"
done
kdir=$kb/usr/src/linux-headers-$abi
common=$kb/usr/src/linux-headers-${abi%-amd64}-common
[ -d "$kdir" ] && [ -d "$common" ] || failed "linux-headers-$abi did not unpack"
echo "include $common/Makefile" > "$kdir/Makefile"

# Only fs/smb, fs/internal.h and the ASN.1 compiler are needed from the source.
s=$work/src
mkdir -p "$s"
dpkg-deb --fsys-tarfile "$src_deb" | tar -x -O ./usr/src/linux-source-6.1.tar.xz |
  xz -dc | tar -x -C "$s" --strip-components=1 \
    linux-source-6.1/fs/smb linux-source-6.1/fs/internal.h \
    linux-source-6.1/scripts/asn1_compiler.c linux-source-6.1/include/linux/asn1.h \
    linux-source-6.1/include/linux/asn1_ber_bytecode.h \
    linux-source-6.1/include/linux/asn1_decoder.h \
  || failed "extracting fs/smb from linux-source-6.1 failed"
gcc -O2 -I"$s/include" -o "$kb/usr/lib/linux-kbuild-6.1/scripts/asn1_compiler" \
  "$s/scripts/asn1_compiler.c" || failed "building scripts/asn1_compiler failed"

for p in "$here"/patches/*.patch; do
  [ -e "$p" ] || continue
  log "applying $(basename "$p")"
  patch -d "$s" -p1 --forward --batch < "$p" >&2 || failed "patch $(basename "$p") does not apply"
done

# CONFIG_* given on the make command line select the objects; the -D makes the
# #ifdef CONFIG_* blocks in the sources see them (autoconf.h comes from Debian's build).
jobs=$(nproc 2>/dev/null || echo 2)
log "building cifs.ko with CONFIG_CIFS_SMB_DIRECT"
make -s -j"$jobs" -C "$kdir" M="$s/fs/smb/client" CONFIG_CIFS=m CONFIG_CIFS_SMB_DIRECT=y \
  KCFLAGS="-DCONFIG_CIFS_SMB_DIRECT=1" modules > "$work/cifs.log" 2>&1 ||
  { tail -n 30 "$work/cifs.log" >&2; failed "cifs.ko build failed"; }
log "building ksmbd.ko with CONFIG_SMB_SERVER_SMBDIRECT"
make -s -j"$jobs" -C "$kdir" M="$s/fs/smb/server" CONFIG_SMB_SERVER=m \
  CONFIG_SMB_SERVER_SMBDIRECT=y KCFLAGS="-DCONFIG_SMB_SERVER_SMBDIRECT=1" modules \
  > "$work/ksmbd.log" 2>&1 ||
  { tail -n 30 "$work/ksmbd.log" >&2; failed "ksmbd.ko build failed"; }
for m in client/cifs server/ksmbd; do
  strip --strip-debug -o "$dest/$(basename $m).ko" "$s/fs/smb/$m.ko"
done

mkdir -p "$dest/ksmbd-tools"
dpkg-deb --fsys-tarfile "$tools_deb" | tar -x -C "$dest/ksmbd-tools"
rm -rf "$work"
log "cifs.ko and ksmbd.ko with SMB Direct built in $(( $(date +%s) - start )) s"
