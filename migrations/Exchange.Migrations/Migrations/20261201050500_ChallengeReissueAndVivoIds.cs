using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ChallengeReissueAndVivoIds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "generation",
                table: "member_tokens",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "reissues",
                table: "challenges",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "rejected_token_generation",
                table: "challenges",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "token_generation",
                table: "challenges",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "unanswered_sends",
                table: "challenges",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<List<string>>(
                name: "vivo_ids",
                table: "challenges",
                type: "text[]",
                nullable: false,
                defaultValueSql: "'{}'");

            // The vivo_id a challenge already holds is the first of its list.
            migrationBuilder.Sql("UPDATE challenges SET vivo_ids = ARRAY[vivo_id] WHERE vivo_id IS NOT NULL;");

            migrationBuilder.CreateTable(
                name: "retired_challenge_ids",
                columns: table => new
                {
                    id_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    challenge_id = table.Column<Guid>(type: "uuid", nullable: false),
                    retired_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    reason = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_retired_challenge_ids", x => x.id_hash);
                    table.ForeignKey(
                        name: "fk_retired_challenge_ids_challenges_challenge_id",
                        column: x => x.challenge_id,
                        principalTable: "challenges",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_retired_challenge_ids_challenge_id",
                table: "retired_challenge_ids",
                column: "challenge_id");

            // A challenge issued again under a new id keeps the old id's hash as evidence: the id_hash of an open
            // challenge may change only to a new one, and only once the old one is recorded as retired (append-only).
            migrationBuilder.Sql("""
                CREATE OR REPLACE FUNCTION refuse_challenge_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.request_id IS DISTINCT FROM OLD.request_id
                        OR NEW.request_kind IS DISTINCT FROM OLD.request_kind OR NEW.member_id IS DISTINCT FROM OLD.member_id
                        OR NEW.message IS DISTINCT FROM OLD.message OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
                        RAISE EXCEPTION 'evidence: the challenge % may not change what it showed, or for whom', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    -- ...and never to a hash retired before: a retired id (the member may tap it yet) must not come to
                    -- approve another challenge.
                    IF NEW.id_hash IS DISTINCT FROM OLD.id_hash AND (OLD.state = 'Ended' OR NOT EXISTS (
                        SELECT 1 FROM retired_challenge_ids r WHERE r.id_hash = OLD.id_hash AND r.challenge_id = OLD.id)
                        OR EXISTS (SELECT 1 FROM retired_challenge_ids r WHERE r.id_hash = NEW.id_hash)) THEN
                        RAISE EXCEPTION 'evidence: the challenge % may change its id only while open, the old one retired first', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    IF OLD.state = 'Ended' AND (NEW.state IS DISTINCT FROM OLD.state OR NEW.outcome IS DISTINCT FROM OLD.outcome
                        OR NEW.ended_at IS DISTINCT FROM OLD.ended_at OR NEW.approval_proof IS DISTINCT FROM OLD.approval_proof) THEN
                        RAISE EXCEPTION 'evidence: the challenge % has ended; its outcome may not change', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER retired_challenge_ids_append_only BEFORE UPDATE OR DELETE ON retired_challenge_ids
                    FOR EACH ROW EXECUTE FUNCTION refuse_evidence_removal('a retired challenge id is kept');
                CREATE TRIGGER retired_challenge_ids_no_truncate BEFORE TRUNCATE ON retired_challenge_ids
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_evidence_removal('a retired challenge id is kept');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE OR REPLACE FUNCTION refuse_challenge_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
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
                """);

            migrationBuilder.DropTable(
                name: "retired_challenge_ids");

            migrationBuilder.DropColumn(
                name: "generation",
                table: "member_tokens");

            migrationBuilder.DropColumn(
                name: "reissues",
                table: "challenges");

            migrationBuilder.DropColumn(
                name: "rejected_token_generation",
                table: "challenges");

            migrationBuilder.DropColumn(
                name: "token_generation",
                table: "challenges");

            migrationBuilder.DropColumn(
                name: "unanswered_sends",
                table: "challenges");

            migrationBuilder.DropColumn(
                name: "vivo_ids",
                table: "challenges");
        }
    }
}
