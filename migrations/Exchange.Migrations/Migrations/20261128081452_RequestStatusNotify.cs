using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// Every committed change of a withdrawal's or transfer's status (and a withdrawal's hash or
    /// confirmations) is announced on the channel request_status, whichever instance or job made it,
    /// so a trader's page on any instance hears of it. NOTIFY is delivered at commit, never for a
    /// rolled-back change.
    /// </summary>
    public partial class RequestStatusNotify : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE FUNCTION request_status_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    fields jsonb := to_jsonb(NEW);
                BEGIN
                    PERFORM pg_notify('request_status', json_build_object(
                        'kind', TG_ARGV[0],
                        'id', NEW.id,
                        'member', NEW.member_id,
                        'status', NEW.status,
                        'txHash', fields->>'tx_hash',
                        'confirmations', (fields->>'confirmations')::integer,
                        'updatedAt', NEW.updated_at)::text);
                    RETURN NULL;
                END $$;

                CREATE TRIGGER withdrawals_status_notify_insert AFTER INSERT ON withdrawals
                    FOR EACH ROW EXECUTE FUNCTION request_status_notify('withdrawal');
                CREATE TRIGGER withdrawals_status_notify_update AFTER UPDATE ON withdrawals
                    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.tx_hash IS DISTINCT FROM NEW.tx_hash
                                       OR OLD.confirmations IS DISTINCT FROM NEW.confirmations)
                    EXECUTE FUNCTION request_status_notify('withdrawal');
                CREATE TRIGGER transfers_status_notify_insert AFTER INSERT ON transfers
                    FOR EACH ROW EXECUTE FUNCTION request_status_notify('transfer');
                CREATE TRIGGER transfers_status_notify_update AFTER UPDATE ON transfers
                    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
                    EXECUTE FUNCTION request_status_notify('transfer');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER transfers_status_notify_update ON transfers;
                DROP TRIGGER transfers_status_notify_insert ON transfers;
                DROP TRIGGER withdrawals_status_notify_update ON withdrawals;
                DROP TRIGGER withdrawals_status_notify_insert ON withdrawals;
                DROP FUNCTION request_status_notify();
                """);
        }
    }
}
