#!/usr/bin/env bash
# Installs every package, builds, and runs every test tier. Exits non-zero when any fails.
# The VM-lab tier (qemu guest: cifs.ko, soft-RoCE, ksmbd, pmem; its guest assets are built
# first into ~/.cache/smb3d-vmlab when their inputs changed) runs on its own after the
# other tests; SMB_TEST_VMLAB=0 leaves it out (alone: ctest --test-dir build -L vmlab).
# Environment: SMB_TEST_JOBS (default: number of cores), SMB_TEST_SKIP_SANITIZE=1 to skip
# the ASan+UBSan pass, SMB_TEST_SKIP_TSAN=1 to skip the ThreadSanitizer pass (the unit
# tests of threaded code and the hostile cases that drive the worker's pool, built alone:
# `ninja tsan-all`), SMB_TEST_SKIP_FUZZ=1 to skip the libFuzzer pass (each target with
# its fixed seed for its fixed number of inputs: tests/fuzz/CMakeLists.txt),
# SMB_TEST_LABELS to run only some CTest labels (regex).
# Of the tests against Samba's smbd (checks of the tests themselves) the quick client tests
# (label reference-fast) run with the others; the rest (label reference) only when asked:
# SMB_TEST_LABELS=reference runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every tool a test needs is installed below: a test that cannot run is a failure here,
# not a skip (CMake stops at a test it cannot register, and tests that would skip fail).
export SMB_TEST_REQUIRE_ALL=${SMB_TEST_REQUIRE_ALL:-1}
jobs=${SMB_TEST_JOBS:-$(nproc)}
start=$(date +%s)
stage() { echo "== $* ($(( $(date +%s) - start )) s)"; }

stage "installing packages"
bash scripts/install-deps.sh

stage "building (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j "$jobs"

stage "running tests"
labels=${SMB_TEST_LABELS:-}
if [ -n "$labels" ]; then
  ctest --test-dir build -j "$jobs" --output-on-failure -L "$labels"
else
  ctest --test-dir build -j "$jobs" --output-on-failure \
    -LE '^reference$|bench-long|vmlab'
  if [ "${SMB_TEST_VMLAB:-1}" != 0 ]; then
    # One guest at a time, each using every core; a failure is not retried.
    stage "VM lab tier (qemu guest; guest assets first)"
    ctest --test-dir build --output-on-failure -L vmlab
  fi
fi

if [ "${SMB_TEST_SKIP_FUZZ:-0}" != 1 ]; then
  stage "building the fuzz targets (clang, libFuzzer, ASan+UBSan)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSMB_FUZZ=ON >/dev/null
  ninja -C build-fuzz -j "$jobs" fuzz-all
  stage "fuzzing each target with its fixed seed (the same commit, the same run)"
  ctest --test-dir build-fuzz -L fuzz -j "$jobs" --output-on-failure
fi

if [ "${SMB_TEST_SKIP_SANITIZE:-0}" != 1 ]; then
  stage "building with ASan+UBSan"
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMB_SANITIZE=ON >/dev/null
  ninja -C build-sanitize -j "$jobs"
  # smbtorture's oplock and lease suites (a minute each, mostly waiting on breaks) run in
  # the Release pass only; integration/leases and the unit tests cover that code here.
  stage "running unit and integration tests under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize -j "$jobs" --output-on-failure \
    -L 'unit|integration|fuzz' \
    -LE 'reference|bench-long|vmlab' -E 'integration/bench|smbtorture/smb2\.(oplock|lease)$'
fi
if [ "${SMB_TEST_SKIP_TSAN:-0}" != 1 ]; then
  stage "building with ThreadSanitizer (tsan-all)"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMB_TSAN=ON >/dev/null
  ninja -C build-tsan -j "$jobs" tsan-all
  stage "running the threaded unit tests and the pool's hostile cases under ThreadSanitizer"
  # A report fails the test (exit code 66); tests/tsan.supp holds the documented
  # suppressions for third-party code. The hostile cases that bound memory by RSS
  # (read-flood, read-memory) are left out: the shadow memory counts in the RSS here.
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan -j "$jobs" --output-on-failure \
    -R '^(base_test|crypto_test|blocking_identity_test|vfs_test|fsa_test|file_data_test|worker_test)/|^hostile/(dir-pipeline|teardown-with-io|resource-limits|guid-claim)$'
fi
stage "all tests passed"
