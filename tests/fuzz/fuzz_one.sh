#!/usr/bin/env bash
# Runs one libFuzzer target over its committed corpus, in one of two modes:
#
#   fuzz_one.sh BINARY CORPUS_DIR MAX_LEN WORK_DIR --seed N --runs N
#       fixed seed, fixed number of inputs: the same commit gives the same run (the same
#       inputs tried, the same coverage, the same outcome). CTest's fuzz/<target>/run.
#   fuzz_one.sh BINARY CORPUS_DIR MAX_LEN WORK_DIR [--seconds S]
#       random seed, bounded by time (default $SMB_FUZZ_SECONDS, else 30): the long
#       exploratory runs of tests/fuzz/run.sh.
#
# New interesting inputs go to WORK_DIR/new (the committed corpus is only read), crashing
# inputs to WORK_DIR/artifacts, libFuzzer's output to WORK_DIR/libfuzzer.log. A fixed-seed
# run starts from an empty WORK_DIR/new, since inputs a previous run found would change
# what this one does, runs with address randomisation off, and ends with one line of
# results that two runs of one commit repeat (also in WORK_DIR/result.txt):
#   RESULT <target> seed=N runs=N cov=N ft=N corpus=N new=N
# Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory.
set -euo pipefail
usage() {
  echo "usage: $0 BINARY CORPUS_DIR MAX_LEN WORK_DIR (--seed N --runs N | [--seconds S])" >&2
  exit 2
}
[ $# -ge 4 ] || usage
bin=$1 corpus=$2 max_len=$3 work=$4
shift 4
seed="" runs="" secs=${SMB_FUZZ_SECONDS:-30}
while [ $# -gt 0 ]; do
  case $1 in
    --seed) seed=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --seconds) secs=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
if { [ -n "$seed" ] && [ -z "$runs" ]; } || { [ -z "$seed" ] && [ -n "$runs" ]; }; then
  echo "$0: --seed and --runs go together" >&2
  exit 2
fi
name=$(basename "$bin")
mkdir -p "$work"
# UBSan is built recoverable (SMB_FUZZ adds no -fno-sanitize-recover): halt on the first
# report so libFuzzer records it as a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

args=(-max_len="$max_len" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
launch=()
inputs=("$corpus")
if [ -n "$seed" ]; then
  rm -rf "$work/new" "$work/artifacts" "$work/seeds"
  mkdir -p "$work/new" "$work/artifacts" "$work/seeds"
  # libFuzzer orders the seed inputs by size only, so inputs of equal size keep the
  # order the directory lists them in, which on most file systems depends on more than
  # the names. A copy made in name order on tmpfs lists them in that order every time.
  seeds=$work/seeds
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    seeds=$(mktemp -d /dev/shm/fuzz-seeds-XXXXXX)
    trap 'rm -rf "$seeds"' EXIT
  fi
  while IFS= read -r -d '' f; do
    cp "$f" "$seeds/$(basename "$f")"
  done < <(find "$corpus" -maxdepth 1 -type f -print0 | LC_ALL=C sort -z)
  inputs=("$seeds")
  # -reload=0: the output directory is not reread on a timer.
  args+=(-seed="$seed" -runs="$runs" -reload=0)
  # Address space layout randomisation changes coverage: libstdc++ compares addresses
  # (std::string::replace asks whether its source overlaps the string), so one input can
  # take other branches from one process to the next. Without it, a seed repeats its run.
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    launch=(setarch "$(uname -m)" -R)
  else
    echo "$name: setarch -R is refused here: addresses stay random and two runs may differ" >&2
  fi
else
  mkdir -p "$work/new" "$work/artifacts"
  args+=(-max_total_time="$secs")
fi

set +e
"${launch[@]}" "$bin" "${args[@]}" "$work/new" "${inputs[@]}" >"$work/libfuzzer.log" 2>&1
rc=$?
set -e
cat "$work/libfuzzer.log"
if [ "$rc" -ne 0 ]; then
  echo "$name: FAILED (exit $rc); crashing inputs:" >&2
  ls -l "$work/artifacts" >&2 || true
  echo "Keep each as a regression input: cp ARTIFACT $corpus/regress-<what>" >&2
  exit "$rc"
fi
if [ -n "$seed" ]; then
  # The final status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ...".
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE ' "$work/libfuzzer.log" | tail -n 1)
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/libfuzzer.log" | tail -n 1)
  new_units=$(sed -n 's/^stat::new_units_added: *//p' "$work/libfuzzer.log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  if [ -z "$cov" ] || [ -z "$executed" ]; then
    echo "$name: no final status line in $work/libfuzzer.log" >&2
    exit 1
  fi
  echo "RESULT ${name%_fuzz} seed=$seed runs=$executed cov=$cov ft=$ft corpus=$corp new=$new_units" |
    tee "$work/result.txt"
fi
