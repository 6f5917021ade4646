#!/usr/bin/env bash
# The long fuzzing run: builds the libFuzzer targets (clang, SMB_FUZZ=ON) and runs each
# for SECONDS over its committed corpus, one after another, each with a random seed (a new
# search every time; CTest's fuzz/<target>/run repeats one fixed-seed run instead).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]        default 600 s, every target
#
# Environment: SMB_FUZZ_BUILD (build directory, default build-fuzz), SMB_FUZZ_WORK
# (scratch directory, default $SMB_FUZZ_BUILD/fuzz-work), SMB_FUZZ_JOBS (targets run at
# once, default 1).
# Per target, new inputs libFuzzer finds collect in WORK/<target>/new and crashing
# inputs in WORK/<target>/artifacts; at the end the new inputs that add coverage are
# merged into WORK/<target>/merged, small enough to review and commit to
# tests/fuzz/corpus/<target>/. Exits non-zero when any target failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
[ $# -gt 0 ] && shift
build=${SMB_FUZZ_BUILD:-build-fuzz}
work=${SMB_FUZZ_WORK:-$build/fuzz-work}
jobs=${SMB_FUZZ_JOBS:-1}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMB_FUZZ=ON >/dev/null
mapfile -t rows <"$build/tests/fuzz/targets.txt"
wanted=("$@")
selected=()
for row in "${rows[@]}"; do
  read -r name _ <<<"$row"
  if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" $name "* ]]; then
    selected+=("$row")
  fi
done
if [ ${#selected[@]} -eq 0 ]; then
  echo "no such target; known: $(cut -d' ' -f1 "$build/tests/fuzz/targets.txt" | tr '\n' ' ')" >&2
  exit 2
fi
ninja -C "$build" $(for row in "${selected[@]}"; do read -r name _ <<<"$row"; echo "${name}_fuzz"; done)

failed=()
run_one() {
  local name=$1 bin=$2 corpus=$3 max_len=$4
  local log="$work/$name/fuzz.log"
  mkdir -p "$work/$name"
  echo "== $name: ${secs} s (log $log)"
  if tests/fuzz/fuzz_one.sh "$bin" "$corpus" "$max_len" "$work/$name" --seconds "$secs" \
      >"$log" 2>&1; then
    grep -h "stat::number_of_executed_units\|stat::new_units_added" "$log" | sed "s/^/   $name /"
  else
    echo "   $name FAILED; see $log and $work/$name/artifacts" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  # The new inputs that add coverage beyond the committed corpus: libFuzzer keeps what
  # is in the first directory and adds from the others what brings new coverage.
  rm -rf "$work/$name/merged"
  mkdir -p "$work/$name/merged"
  cp "$corpus"/* "$work/$name/merged/"
  "$bin" -merge=1 -max_len="$max_len" "$work/$name/merged" "$work/$name/new" \
    >"$work/$name/merge.log" 2>&1 || true
  for f in "$corpus"/*; do rm -f "$work/$name/merged/$(basename "$f")"; done
  echo "   $name: $(find "$work/$name/merged" -type f | wc -l) new corpus entries in $work/$name/merged"
}

pids=()
names=()
for row in "${selected[@]}"; do
  read -r name bin corpus max_len _ <<<"$row"
  run_one "$name" "$bin" "$corpus" "$max_len" &
  pids+=($!)
  names+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#selected[@]} targets ran ${secs} s without a crash"
