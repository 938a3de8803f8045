using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class AuditChain : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "chain_seq",
                table: "audit_events",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "hash",
                table: "audit_events",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "prev_hash",
                table: "audit_events",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "sealed_at",
                table: "audit_events",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_chain_seq",
                table: "audit_events",
                column: "chain_seq",
                unique: true);

            // The id of the transaction that wrote each event: the sealer links an event only once every
            // transaction that could still add an earlier one has ended (xid below the snapshot's xmin).
            migrationBuilder.Sql("""
                ALTER TABLE audit_events ADD COLUMN writer_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
                CREATE INDEX ix_audit_events_unsealed ON audit_events (writer_xid, seq) WHERE chain_seq IS NULL;

                -- Append-only, enforced by the database: no DELETE, no TRUNCATE, and no UPDATE but the
                -- one-time write of the seal columns on an unsealed event.
                CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                        RAISE EXCEPTION 'audit events cannot be deleted' USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    IF OLD.chain_seq IS NOT NULL
                       OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.at IS DISTINCT FROM OLD.at
                       OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.action IS DISTINCT FROM OLD.action
                       OR NEW.subject IS DISTINCT FROM OLD.subject OR NEW.data IS DISTINCT FROM OLD.data
                       OR NEW.writer_xid IS DISTINCT FROM OLD.writer_xid THEN
                        RAISE EXCEPTION 'audit events are append-only; only an unsealed event''s seal may be written'
                            USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
                    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
                CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER audit_events_no_truncate ON audit_events;
                DROP TRIGGER audit_events_append_only ON audit_events;
                DROP FUNCTION audit_events_append_only();
                ALTER TABLE audit_events DROP COLUMN writer_xid;
                """);

            migrationBuilder.DropIndex(
                name: "ix_audit_events_chain_seq",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "chain_seq",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "hash",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "prev_hash",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "sealed_at",
                table: "audit_events");
        }
    }
}
