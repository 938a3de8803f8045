using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// The evidence the signer reads is as hard to rewrite as the request it backs: a challenge keeps what it
    /// showed and for whom, and once ended its outcome and the approval proof a success callback leaves
    /// (a MAC under a key the database never holds) do not change; the journal is append-only; withdrawals and
    /// transfers are never deleted (a delete and re-insert would otherwise get round their immutable money
    /// columns). Enforced by triggers, for every role but one that may switch triggers off.
    /// </summary>
    public partial class ChallengeApprovalProof : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "approval_proof",
                table: "challenges",
                type: "bytea",
                nullable: true);

            migrationBuilder.Sql("""
                CREATE FUNCTION refuse_challenge_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.request_id IS DISTINCT FROM OLD.request_id
                        OR NEW.request_kind IS DISTINCT FROM OLD.request_kind OR NEW.member_id IS DISTINCT FROM OLD.member_id
                        OR NEW.id_hash IS DISTINCT FROM OLD.id_hash OR NEW.message IS DISTINCT FROM OLD.message
                        OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
                        RAISE EXCEPTION 'evidence: the challenge % may not change what it showed, or for whom', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    IF OLD.state = 'Ended' AND (NEW.state IS DISTINCT FROM OLD.state OR NEW.outcome IS DISTINCT FROM OLD.outcome
                        OR NEW.ended_at IS DISTINCT FROM OLD.ended_at OR NEW.approval_proof IS DISTINCT FROM OLD.approval_proof) THEN
                        RAISE EXCEPTION 'evidence: the challenge % has ended; its outcome may not change', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER challenges_keep_evidence BEFORE UPDATE ON challenges
                    FOR EACH ROW EXECUTE FUNCTION refuse_challenge_rewrite();

                CREATE FUNCTION refuse_evidence_removal() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'evidence: % on % is refused (%)', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
                        USING ERRCODE = 'integrity_constraint_violation';
                END $$;
                CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
                    FOR EACH ROW EXECUTE FUNCTION refuse_evidence_removal('the journal is append-only');
                CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_evidence_removal('the journal is append-only');
                CREATE TRIGGER withdrawals_never_deleted BEFORE DELETE ON withdrawals
                    FOR EACH ROW EXECUTE FUNCTION refuse_evidence_removal('a withdrawal is never deleted');
                CREATE TRIGGER withdrawals_no_truncate BEFORE TRUNCATE ON withdrawals
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_evidence_removal('a withdrawal is never deleted');
                CREATE TRIGGER transfers_never_deleted BEFORE DELETE ON transfers
                    FOR EACH ROW EXECUTE FUNCTION refuse_evidence_removal('a transfer is never deleted');
                CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_evidence_removal('a transfer is never deleted');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER transfers_no_truncate ON transfers;
                DROP TRIGGER transfers_never_deleted ON transfers;
                DROP TRIGGER withdrawals_no_truncate ON withdrawals;
                DROP TRIGGER withdrawals_never_deleted ON withdrawals;
                DROP TRIGGER journal_entries_no_truncate ON journal_entries;
                DROP TRIGGER journal_entries_append_only ON journal_entries;
                DROP FUNCTION refuse_evidence_removal();
                DROP TRIGGER challenges_keep_evidence ON challenges;
                DROP FUNCTION refuse_challenge_rewrite();
                """);

            migrationBuilder.DropColumn(
                name: "approval_proof",
                table: "challenges");
        }
    }
}
