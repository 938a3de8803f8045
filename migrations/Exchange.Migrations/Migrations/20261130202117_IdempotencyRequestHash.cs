using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <summary>
    /// Each Idempotency-Key keeps a hash of the request it was first used for, so a repeat asking for something
    /// else is refused. The partial indexes make counting a member's requests awaiting approval (the limit of
    /// Exchange:MaxPendingPerMember) cost what they number, however long the member's history.
    /// </summary>
    public partial class IdempotencyRequestHash : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "request_hash",
                table: "idempotency_keys",
                type: "text",
                nullable: true);

            migrationBuilder.Sql("""
                CREATE INDEX ix_withdrawals_member_awaiting ON withdrawals (member_id) WHERE status IN ('pending_approval', 'approved');
                CREATE INDEX ix_transfers_member_awaiting ON transfers (member_id) WHERE status IN ('pending_approval', 'approved');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP INDEX ix_transfers_member_awaiting;
                DROP INDEX ix_withdrawals_member_awaiting;
                """);

            migrationBuilder.DropColumn(
                name: "request_hash",
                table: "idempotency_keys");
        }
    }
}
