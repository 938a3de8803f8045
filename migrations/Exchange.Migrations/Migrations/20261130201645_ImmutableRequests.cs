using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// What a member taps for is fixed at insert: the member, asset, amount and destination of a withdrawal,
    /// the sender, receiver, asset and amount of a transfer. An UPDATE that changes any of them is refused by
    /// the database itself, whichever role sends it (the application's role cannot drop or disable a trigger:
    /// only the schema's owner can). The trigger fires only for an UPDATE that names one of those columns, so
    /// the status updates of the hot path never run it.
    /// </summary>
    public partial class ImmutableRequests : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE FUNCTION refuse_request_money_change() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    before jsonb := to_jsonb(OLD);
                    after jsonb := to_jsonb(NEW);
                    col text;
                BEGIN
                    FOREACH col IN ARRAY TG_ARGV LOOP
                        IF before->col IS DISTINCT FROM after->col THEN
                            RAISE EXCEPTION 'immutable_requests: %.% of % may not change after insert', TG_TABLE_NAME, col, OLD.id
                                USING ERRCODE = 'integrity_constraint_violation';
                        END IF;
                    END LOOP;
                    RETURN NEW;
                END $$;

                CREATE TRIGGER withdrawals_immutable_money BEFORE UPDATE OF member_id, asset, amount, to_address ON withdrawals
                    FOR EACH ROW EXECUTE FUNCTION refuse_request_money_change('member_id', 'asset', 'amount', 'to_address');
                CREATE TRIGGER transfers_immutable_money BEFORE UPDATE OF member_id, to_member_id, asset, amount ON transfers
                    FOR EACH ROW EXECUTE FUNCTION refuse_request_money_change('member_id', 'to_member_id', 'asset', 'amount');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER transfers_immutable_money ON transfers;
                DROP TRIGGER withdrawals_immutable_money ON withdrawals;
                DROP FUNCTION refuse_request_money_change();
                """);
        }
    }
}
