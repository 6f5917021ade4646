#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its committed corpus.
#   fuzz_one.sh BINARY CORPUS_DIR MAX_LEN WORK_DIR [SECONDS]
# SECONDS defaults to $SMB_FUZZ_SECONDS, else 30. New interesting inputs go to
# WORK_DIR/new (the committed corpus is only read), crashing inputs to WORK_DIR/artifacts.
# Exits non-zero on any crash, sanitizer report, leak, timeout or out-of-memory.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 BINARY CORPUS_DIR MAX_LEN WORK_DIR [SECONDS]" >&2
  exit 2
fi
bin=$1 corpus=$2 max_len=$3 work=$4
secs=${5:-${SMB_FUZZ_SECONDS:-30}}
name=$(basename "$bin")
mkdir -p "$work/new" "$work/artifacts"
# UBSan is built recoverable (SMB_FUZZ adds no -fno-sanitize-recover): halt on the first
# report so libFuzzer records it as a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
set +e
"$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=25 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/new" "$corpus"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "$name: FAILED (exit $rc); crashing inputs:" >&2
  ls -l "$work/artifacts" >&2 || true
  echo "Keep each as a regression input: cp ARTIFACT $corpus/regress-<what>" >&2
fi
exit "$rc"
