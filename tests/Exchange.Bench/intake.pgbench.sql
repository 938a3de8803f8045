-- The ceiling for intake: what one accepted withdrawal request costs PostgreSQL, statement for statement,
-- as the exchange issues them (captured with log_statement = all, then written out here; the values are
-- the bench's own). pgbench runs it at the same concurrency as the HTTP clients; tps = intakes per second.
-- One statement is the bench's, not the exchange's: the first SELECT picks the client's member and new ids (\gset).
-- Each client is its own member, as each HTTP client of the bench is its own trader.
\set n :client_id % :members + 1
SELECT member_id AS mid, gen_random_uuid() AS wid, gen_random_uuid() AS cid FROM bench_members WHERE n = :n \gset

-- 1. The request: POST /api/withdrawals (RequestWithdrawal in one transaction, auto-savepoints off).
BEGIN;
SELECT EXISTS (SELECT 1 FROM member_tokens AS m WHERE m.member_id = :mid::uuid AND NOT (m.unusable));
SELECT e.member_id, e.asset, e.available, e.held, e.xmin AS bx FROM (SELECT *, xmin FROM balances WHERE member_id = :mid::uuid AND asset = 'ETH' FOR UPDATE) AS e LIMIT 2 \gset
INSERT INTO audit_events (action, actor, at, chain_seq, data, hash, prev_hash, sealed_at, subject)
  VALUES ('challenge.issued', concat_ws(':', 'member', 'bench'), now(), NULL, jsonb_build_object('message', 'Withdraw 0.000001 ETH to 0x7099…79C8', 'deadline', now() + interval '1 hour', 'challengeId', :cid::text), NULL, NULL, NULL, 'withdrawal:' || :wid::text) RETURNING seq;
INSERT INTO audit_events (action, actor, at, chain_seq, data, hash, prev_hash, sealed_at, subject)
  VALUES ('withdrawal.requested', concat_ws(':', 'member', 'bench'), now(), NULL, jsonb_build_object('asset', 'ETH', 'amount', '0.000001', 'status', 'pending_approval', 'address', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'), NULL, NULL, NULL, 'withdrawal:' || :wid::text) RETURNING seq;
UPDATE balances SET available = available - 1000000000000, held = held + 1000000000000 WHERE asset = 'ETH' AND member_id = :mid::uuid AND xmin = :bx::text::xid RETURNING xmin;
INSERT INTO challenges (id, created_at, deadline, ended_at, id_hash, last_send_error, member_id, message, next_send_at, outcome, request_id, request_kind, sealed_id, send_attempts, state, vivo_id)
  VALUES (:cid::uuid, now(), now() + interval '1 hour', NULL, sha256(convert_to(:cid::text, 'UTF8')), NULL, :mid::uuid, 'Withdraw 0.000001 ETH to 0x7099…79C8', now(), NULL, :wid::uuid, 'withdrawal', sha512(convert_to(:wid::text, 'UTF8')) || sha256(convert_to(:mid::text, 'UTF8')), 0, 'Sending', NULL) RETURNING xmin;
INSERT INTO journal_entries (asset, at, available_delta, held_delta, kind, member_id, request_id)
  VALUES ('ETH', now(), -1000000000000, 1000000000000, 'hold', :mid::uuid, :wid::uuid) RETURNING id;
INSERT INTO withdrawals (id, amount, asset, block_number, confirmations, created_at, error, member_id, nonce, raw_transaction, status, to_address, tx_hash, updated_at)
  VALUES (:wid::uuid, 1000000000000, 'ETH', NULL, NULL, now(), NULL, :mid::uuid, NULL, NULL, 'pending_approval', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', NULL, now()) RETURNING xmin;
COMMIT;

-- 2. Sending the challenge (SendChallengeJob): read it, read the member's tokens, record VivoKey's acceptance.
SELECT c.id, c.created_at, c.deadline, c.ended_at, c.id_hash, c.last_send_error, c.member_id, c.message, c.next_send_at, c.outcome, c.request_id, c.request_kind, c.sealed_id, c.send_attempts, c.state, c.xmin, c.vivo_id FROM challenges AS c WHERE c.id = :cid::uuid LIMIT 2;
SELECT m.member_id, m.access_token_expires_at, m.protected_access_token, m.protected_refresh_token, m.unusable, m.updated_at, m.xmin FROM member_tokens AS m WHERE m.member_id = :mid::uuid LIMIT 2;
BEGIN;
SELECT e.id, e.state, e.xmin AS cx FROM (SELECT *, xmin FROM challenges WHERE id = :cid::uuid FOR UPDATE) AS e LIMIT 2 \gset
INSERT INTO audit_events (action, actor, at, chain_seq, data, hash, prev_hash, sealed_at, subject)
  VALUES ('challenge.accepted', 'system', now(), NULL, jsonb_build_object('vivoId', md5(:cid::text), 'attempts', 1), NULL, NULL, NULL, 'withdrawal:' || :wid::text) RETURNING seq;
UPDATE challenges SET next_send_at = NULL, sealed_id = NULL, send_attempts = 1, state = 'Accepted', vivo_id = 'pgbench:' || md5(:cid::text) WHERE id = :cid::uuid AND xmin = :cx::text::xid RETURNING xmin;
COMMIT;
