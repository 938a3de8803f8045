using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ReconcilerIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_challenges_open_by_deadline",
                table: "challenges",
                column: "deadline",
                filter: "state <> 'Ended'");

            migrationBuilder.CreateIndex(
                name: "ix_challenges_sending_by_next_send_at",
                table: "challenges",
                column: "next_send_at",
                filter: "state = 'Sending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_challenges_open_by_deadline",
                table: "challenges");

            migrationBuilder.DropIndex(
                name: "ix_challenges_sending_by_next_send_at",
                table: "challenges");
        }
    }
}
