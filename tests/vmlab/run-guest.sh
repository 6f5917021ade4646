#!/usr/bin/env bash
# Boots a VM lab guest that runs DIR/run.sh and powers off; exits with run.sh's exit code.
#
# Usage: run-guest.sh [options] DIR
#   DIR                 host directory shared with the guest (9p tag "vmlab", mounted on
#                       /vmlab); holds run.sh and whatever it needs; the guest writes
#                       guest.log (run.sh's output) and rc (its exit code) there
#   --mem SIZE          guest memory (default 2G)
#   --smp N             guest CPUs (default 2)
#   --append ARGS       extra kernel command line (e.g. memmap=512M!1G for emulated pmem)
#   --timeout SECONDS   bound on the whole boot (default 600); exceeded: exit 124
#   --fwd IP:PORT=HOSTPORT   guest connections to IP:PORT reach 127.0.0.1:HOSTPORT on the
#                       host (qemu guestfwd, one socat relay per connection); repeatable
#   --assets DIR        asset directory (default: build-assets.sh's current set)
# The console log is kept in DIR/console.log. KVM is used when /dev/kvm is usable, else
# TCG (SMB_VMLAB_ACCEL=kvm|tcg forces one). Exit codes besides run.sh's: 124 the guest
# did not finish in time, 125 the guest ended without an exit code (see console.log),
# 126 qemu or an asset is missing.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mem=2G smp=2 append="" timeout_s=600 assets="" fwds=()
while [ $# -gt 1 ]; do
  case $1 in
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --append) append="$append $2"; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --fwd) fwds+=("$2"); shift 2 ;;
    --assets) assets=$2; shift 2 ;;
    *) echo "run-guest: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [options] DIR" >&2; exit 2; }
dir=$(cd "$1" && pwd) || exit 2
[ -f "$dir/run.sh" ] || { echo "run-guest: $dir/run.sh missing" >&2; exit 2; }

qemu=$(command -v qemu-system-x86_64) || { echo "run-guest: qemu-system-x86_64 not installed" >&2; exit 126; }
if [ -z "$assets" ]; then
  assets=$(readlink -f "${SMB_VMLAB_CACHE:-$HOME/.cache/smb3d-vmlab}/current" 2>/dev/null)
fi
if [ -z "$assets" ] || [ ! -e "$assets/assets.env" ]; then
  echo "run-guest: no guest assets (run tests/vmlab/build-assets.sh)" >&2; exit 126
fi
# shellcheck source=/dev/null
. "$assets/assets.env"

accel=${SMB_VMLAB_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    # /dev/kvm can exist and still not run a guest (nested virtualization that fails on
    # MSRs or hangs): boot the kernel once under KVM and look for its first console line.
    # The verdict is kept per host kernel and qemu version.
    cache=${SMB_VMLAB_CACHE:-$HOME/.cache/smb3d-vmlab}
    probe="$cache/kvm-probe-$(uname -r)-$("$qemu" --version | head -1 | tr -cd '0-9.')"
    if [ ! -f "$probe" ]; then
      plog=$(mktemp)
      timeout 20 "$qemu" -accel kvm -cpu max -m 256M -display none -monitor none \
        -serial "file:$plog" -no-reboot -nodefaults -kernel "$VMLAB_KERNEL" \
        -append "console=ttyS0 panic=-1 root=/dev/nonexistent" </dev/null >/dev/null 2>&1
      if grep -q 'Linux version' "$plog"; then echo kvm > "$probe"; else echo tcg > "$probe"; fi
      rm -f "$plog"
      echo "run-guest: KVM probe: $(cat "$probe")" >&2
    fi
    accel=$(cat "$probe")
  fi
fi
case $accel in
  kvm) accel_args=(-accel kvm -accel tcg) ;;  # qemu falls back to TCG if KVM will not open
  tcg) accel_args=(-accel tcg) ;;
  *) echo "run-guest: SMB_VMLAB_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

# User-mode networking with restrict=on: the guest reaches nothing but the forwards.
nic="user,model=virtio-net-pci,restrict=on"
for f in "${fwds[@]}"; do
  guest=${f%%=*} hostport=${f#*=}
  nic="$nic,guestfwd=tcp:$guest-cmd:socat STDIO TCP:127.0.0.1:$hostport"
done

rm -f "$dir/rc" "$dir/guest.log" "$dir/console.log"
echo "run-guest: booting $VMLAB_KERNEL_ABI ($accel, $mem, $smp cpus, timeout ${timeout_s}s)" >&2
start=$(date +%s%N)
timeout --kill-after=10 "$timeout_s" "$qemu" \
  "${accel_args[@]}" -cpu max -m "$mem" -smp "$smp" \
  -display none -monitor none -serial "file:$dir/console.log" -no-reboot -nodefaults \
  -kernel "$VMLAB_KERNEL" -initrd "$VMLAB_INITRD" \
  -append "console=ttyS0 panic=-1 loglevel=4 net.ifnames=0 $append" \
  -drive "file=$VMLAB_ROOTFS,if=virtio,format=raw,snapshot=on" \
  -fsdev "local,id=vmlab,path=$dir,security_model=none" \
  -device virtio-9p-pci,fsdev=vmlab,mount_tag=vmlab \
  -fsdev "local,id=assets,path=$assets,security_model=none,readonly=on" \
  -device virtio-9p-pci,fsdev=assets,mount_tag=assets \
  -device virtio-rng-pci \
  -nic "$nic" </dev/null >"$dir/qemu.log" 2>&1
qrc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
  echo "run-guest: guest did not finish within ${timeout_s}s ($accel); console log: $dir/console.log" >&2
  tail -n 20 "$dir/console.log" >&2
  exit 124
fi
if [ ! -f "$dir/rc" ]; then
  echo "run-guest: guest ended without an exit code (qemu exit $qrc); console log: $dir/console.log" >&2
  cat "$dir/qemu.log" >&2
  tail -n 30 "$dir/console.log" >&2
  exit 125
fi
rc=$(cat "$dir/rc")
echo "run-guest: guest script exited $rc after ${secs}s" >&2
exit "$rc"
