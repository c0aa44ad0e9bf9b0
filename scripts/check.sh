#!/usr/bin/env bash
# Runs every test: the lit suite (GoogleTest unit tests included) on the
# release build, again with --verify-roundtrip on every matquant-opt call,
# and on the AddressSanitizer + UndefinedBehaviorSanitizer build.
# Prints one closing line "N passed, N failed".
set -uo pipefail
LIT=/usr/lib/llvm-22/bin/lit
# allow_user_poisoning=0: LLVM headers poison BumpPtrAllocator slabs from our
# instrumented code, while the uninstrumented static MLIR libraries write to
# them legitimately; real heap errors are still caught.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0; failed=0
run() {
  local name=$1; shift
  echo "== $name"
  local out
  out=$("$@" 2>&1); local rc=$?
  echo "$out" | tail -n 25
  local p f
  p=$(echo "$out" | sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); fi
}
run "lit (release)" $LIT -sv build/test
# --verify-roundtrip changes only matquant-opt's runs: the second pass takes
# the tests that call it.
mapfile -t roundtrip < <(cd test && grep -rl --include='*.mlir' --include='*.test' \
  --exclude-dir=Inputs -e matquant-opt . | sed 's|^\./|build/test/|' | sort)
run "lit (release, --verify-roundtrip, ${#roundtrip[@]} tests)" \
  env MATQUANT_VERIFY_ROUNDTRIP=1 $LIT -sv "${roundtrip[@]}"
run "lit (asan+ubsan)" $LIT -sv build-asan/test
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
