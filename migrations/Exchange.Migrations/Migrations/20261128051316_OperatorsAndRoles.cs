using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class OperatorsAndRoles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "member_roles",
                columns: table => new
                {
                    member_id = table.Column<Guid>(type: "uuid", nullable: false),
                    role = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    granted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    source = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_member_roles", x => new { x.member_id, x.role });
                    table.ForeignKey(
                        name: "fk_member_roles_members_member_id",
                        column: x => x.member_id,
                        principalTable: "members",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "operator_actions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    operator_member_id = table.Column<Guid>(type: "uuid", nullable: false),
                    operator_subject = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    target_kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    target_id = table.Column<Guid>(type: "uuid", nullable: false),
                    reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    result = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_operator_actions", x => x.id);
                    table.ForeignKey(
                        name: "fk_operator_actions_members_operator_member_id",
                        column: x => x.operator_member_id,
                        principalTable: "members",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_member_roles_role",
                table: "member_roles",
                column: "role");

            migrationBuilder.CreateIndex(
                name: "ix_operator_actions_one_awaiting_per_target",
                table: "operator_actions",
                column: "target_id",
                unique: true,
                filter: "status = 'awaiting_tap'");

            migrationBuilder.CreateIndex(
                name: "ix_operator_actions_operator_member_id",
                table: "operator_actions",
                column: "operator_member_id");

            migrationBuilder.CreateIndex(
                name: "ix_operator_actions_status_created_at",
                table: "operator_actions",
                columns: new[] { "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_operator_actions_target_id_created_at",
                table: "operator_actions",
                columns: new[] { "target_id", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "member_roles");

            migrationBuilder.DropTable(
                name: "operator_actions");
        }
    }
}
