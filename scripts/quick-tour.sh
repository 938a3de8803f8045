#!/usr/bin/env bash
# The five-minute tour, against a running `make run` (README.md, "Five minutes"): sign in once with curl as the
# demo member, credit test funds, ask for a withdrawal, tap it on the simulator's phone, watch it confirm, and
# print its audit trail. Each step is printed; any failure exits non-zero. A test runs it (QuickTourTests).
#   EXCHANGE_URL, SIMULATOR_URL   make run's defaults
#   TOUR_MEMBER                   the VivoKey member to sign in as (vk-demo-trader: compliance under make run,
#                                 so the same session reads the audit trail)
#   TOUR_TIMEOUT                  seconds each wait may take (default 120)
set -euo pipefail

EX=${EXCHANGE_URL:-http://127.0.0.1:5080}
SIM=${SIMULATOR_URL:-http://127.0.0.1:5090}
MEMBER=${TOUR_MEMBER:-vk-demo-trader}
TIMEOUT=${TOUR_TIMEOUT:-120}

jar_dir=$(mktemp -d)
trap 'rm -rf "$jar_dir"' EXIT
jar=$jar_dir/cookies
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$2" | head -n 1; } # a string field of a JSON answer
# curl with the session; unsafe /api calls carry the anti-forgery header, as the pages do. Fails on a 4xx or 5xx.
api() { curl -sS --fail-with-body -b "$jar" -c "$jar" -H 'X-Requested-With: exchange' -H 'Content-Type: application/json' "$@"; }

step "1. Sign in as $MEMBER (the simulator's AutoTap completes the VivoKey sign-in at once)"
# curl follows the redirects to the simulator, whose answer is a page that would post the code back to the
# exchange (response_mode=form_post); curl runs no script, so post that form ourselves.
page=$(curl -sS -c "$jar" -b "$jar" -L "$EX/login?login_hint=$MEMBER&returnUrl=/api/me")
action=$(sed -n 's/.*<form [^>]*action="\([^"]*\)".*/\1/p' <<<"$page")
[ -n "$action" ] || fail "no sign-in form in the simulator's answer: $page"
fields=()
while IFS= read -r pair; do fields+=(--data-urlencode "$pair"); done \
  < <(sed -n 's/.*<input type="hidden" name="\([^"]*\)" value="\([^"]*\)".*/\1=\2/p' <<<"$page")
me=$(curl -sS --fail-with-body -c "$jar" -b "$jar" -L "${fields[@]}" "$action")
echo "$me"
[ "$(field subject "$me")" = "$MEMBER" ] || fail "signed in as someone else: $me"

step "2. Credit 10 test ETH (POST /api/dev/credit, Development only)"
api -d '{"asset":"ETH","amount":"10"}' "$EX/api/dev/credit"
echo

step "3. Ask to withdraw 1.5 ETH to a new address (POST /api/withdrawals)"
address=0x$(openssl rand -hex 20) # a fresh destination: its challenge is told apart from any other on the phone
withdrawal=$(api -d "{\"asset\":\"ETH\",\"amount\":\"1.5\",\"address\":\"$address\"}" "$EX/api/withdrawals")
echo "$withdrawal"
id=$(field id "$withdrawal")
message=$(field challengeMessage "$withdrawal")
[ -n "$id" ] && [ -n "$message" ] || fail "no withdrawal id or challenge message"
echo "withdrawal $id"

step "4. Tap it on the member's phone ($SIM/phone?member=$MEMBER)"
# The exchange sends the challenge to VivoKey's Validation API as the request commits; find it on the
# simulator by its message, then tap as the member would.
vivo_id=
deadline=$((SECONDS + TIMEOUT))
while [ -z "$vivo_id" ]; do
  [ $SECONDS -lt $deadline ] || fail "no pending challenge \"$message\" on the simulator within $TIMEOUT s"
  challenges=$(curl -sS --fail-with-body "$SIM/simulator/challenges?member=$MEMBER&status=pending")
  vivo_id=$(sed 's/},{/}\n{/g' <<<"$challenges" | grep -F "\"message\":\"$message\"" | sed -n 's/.*"vivo_id":"\([^"]*\)".*/\1/p' | head -n 1) || true
  [ -n "$vivo_id" ] || sleep 0.5
done
echo "challenge $vivo_id: $message"
curl -sS --fail-with-body -X POST -o /dev/null "$SIM/simulator/challenges/$vivo_id/tap"
echo "tapped"

step "5. Watch it confirm (GET /api/withdrawals/$id)"
last=
deadline=$((SECONDS + TIMEOUT))
while :; do
  status=$(field status "$(api "$EX/api/withdrawals/$id")")
  [ "$status" = "$last" ] || echo "status $status"
  last=$status
  case $status in
    confirmed) break ;;
    declined | expired | token_expired | rejected | cancelled | failed | tampered) fail "the withdrawal ended $status" ;;
  esac
  [ $SECONDS -lt $deadline ] || fail "still $status after $TIMEOUT s"
  sleep 0.5
done
api "$EX/api/withdrawals/$id"
echo

step "6. Its audit trail, in the order it was written (GET /api/audit?subject=withdrawal:$id, compliance)"
trail=$(api "$EX/api/audit?subject=withdrawal:$id&pageSize=100")
sed 's/},{/}\n{/g' <<<"$trail" | tac | while IFS= read -r event; do
  printf '%-34s %-24s %s\n' "$(field at "$event")" "$(field actor "$event")" "$(field action "$event")"
done
grep -q '"action":"withdrawal.confirmed"' <<<"$trail" || fail "no withdrawal.confirmed in the audit trail"

printf '\nDone: withdrawal %s confirmed.\n' "$id"
