using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// The head of the audit chain, kept apart from the events: deleting the newest events leaves no
    /// gap behind them, but leaves the chain shorter than its recorded head. The head only moves forward.
    /// </summary>
    public partial class AuditChainHead : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE TABLE audit_chain_head (
                    id integer PRIMARY KEY CHECK (id = 1),
                    chain_seq bigint NOT NULL CHECK (chain_seq > 0),
                    hash bytea NOT NULL,
                    sealed_at timestamp with time zone NOT NULL);

                CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'UPDATE' OR NEW.chain_seq <= OLD.chain_seq THEN
                        RAISE EXCEPTION 'the audit chain''s head only moves forward' USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
                    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
                CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TABLE audit_chain_head;
                DROP FUNCTION audit_chain_head_forward_only();
                """);
        }
    }
}
