using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// An audit event arrives unsealed: only the sealer links it into the chain, after it commits. A row inserted
    /// with any chain column already set (a forged link, or a history written to look sealed) is refused.
    /// </summary>
    public partial class AuditInsertUnsealed : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE FUNCTION audit_events_insert_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.chain_seq IS NOT NULL OR NEW.hash IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.sealed_at IS NOT NULL THEN
                        RAISE EXCEPTION 'audit events are inserted unsealed; only the sealer links them into the chain'
                            USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER audit_events_insert_unsealed BEFORE INSERT ON audit_events
                    FOR EACH ROW EXECUTE FUNCTION audit_events_insert_unsealed();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER audit_events_insert_unsealed ON audit_events;
                DROP FUNCTION audit_events_insert_unsealed();
                """);
        }
    }
}
