#!/usr/bin/env bash
# Runs every test project of Exchange.sln, showing each test as it ends, then prints a single
# closing line for the whole run: "Total: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-Release}
results=TestResults
rm -rf "$results"

# A test still running after HANG_TIMEOUT (no test started or ended meanwhile) is a hang, not a slow test: the
# slowest (the soak, the cluster) take a few minutes on a loaded 2-core machine. Blame then names the test that was
# running, writes a dump of the test host into TestResults/, and ends the run instead of waiting for ever.
hang_timeout=${HANG_TIMEOUT:-8min}
dotnet test Exchange.sln -c "$configuration" --no-build -nologo \
  --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" \
  --blame-hang-timeout "$hang_timeout" --blame-hang-dump-type mini
status=$?

# Each test project writes one TRX file; its <Counters> element has the numbers.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
echo
# The failed tests again, each with the start of its message, so that the end of the log says which.
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    # One line per result, then the failed ones' names and the start of their first message.
    tr '\n' ' ' <"$trx" | sed 's/<UnitTestResult /\n&/g' | grep '^<UnitTestResult [^>]*outcome="Failed"' |
      sed -E 's/^<UnitTestResult [^>]*testName="([^"]*)"[^>]*>/\1\t/; s/\t.*<Message>([^<]{0,600}).*/\t\1/; s/\t[^\t]*<[^\t]*$//' |
      sed -e 's/\t/: /' -e 's/^/  - /' -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&#xD;//g' -e 's/&#xA;/ /g' -e 's/&amp;/\&/g'
  done
fi
# A hang: blame has named the test above ("The test running when the crash occurred"); here are its dumps.
dumps=$(find "$results" -name '*hangdump*' 2>/dev/null)
if [ -n "$dumps" ]; then
  echo "A test hung (no test ended for $hang_timeout); dumps of the test host:"
  sed 's/^/  /' <<<"$dumps"
fi
echo "Total: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
