# Helpers for VM lab guest scripts: `. /usr/local/lib/vmlab-lib.sh`.
# Guest scripts exit 0 when every check passed, 77 when a part they need is missing
# (message on stdout, prefixed SKIP:), and 1 with a FAIL: line naming what broke.

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
step() { echo "== [${SECONDS}s] $*"; }  # seconds since the guest script started

# run_bounded SECONDS CMD...: run a command, fail when it does not end in time.
run_bounded() {
  local t=$1; shift
  timeout --kill-after=5 "$t" "$@"
}

# Soft-RoCE on eth0: rxe0 with RoCE v2 GIDs on 10.0.2.15.
rxe_up() {
  modprobe -a rdma_rxe ib_uverbs rdma_ucm ib_core rdma_cm || fail "modprobe rdma_rxe/ib_uverbs/rdma_ucm"
  [ -e /sys/class/infiniband/rxe0 ] ||
    rdma link add rxe0 type rxe netdev eth0 || fail "rdma link add rxe0 type rxe netdev eth0"
  local i=0
  while ! ibv_devices 2>/dev/null | grep -qw rxe0; do
    i=$((i + 1)); [ $i -gt 50 ] && fail "ibv_devices does not list rxe0"; sleep 0.1
  done
}

# Loads the SMB Direct builds of cifs.ko / ksmbd.ko from the assets share, with the
# stock modules they depend on. $1: cifs | ksmbd.
load_smbdirect_module() {
  local name=$1 dir=/vmlab-assets/smbdirect
  # A module whose build failed is a failure to fix; one never built is missing.
  [ -f "$dir/FAILED" ] && fail "SMB Direct $name.ko: the asset stage failed: $(cat "$dir/FAILED")"
  [ -f "$dir/$name.ko" ] || skip "SMB Direct $name.ko not in the assets (not built)"
  modprobe -a ib_core rdma_cm || fail "modprobe ib_core rdma_cm"
  modprobe --show-depends "$name" | awk '$1 == "insmod" { print $2 }' | grep -v "/$name.ko" |
    while read -r ko; do insmod "$ko" 2>/dev/null || true; done
  lsmod | grep -qw "^$name" && return 0
  insmod "$dir/$name.ko" || fail "insmod $dir/$name.ko"
}
