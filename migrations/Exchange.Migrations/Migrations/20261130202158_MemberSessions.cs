using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class MemberSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "member_sessions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    member_id = table.Column<Guid>(type: "uuid", nullable: false),
                    ticket = table.Column<byte[]>(type: "bytea", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    revoked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_member_sessions", x => x.id);
                    table.ForeignKey(
                        name: "fk_member_sessions_members_member_id",
                        column: x => x.member_id,
                        principalTable: "members",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_member_sessions_member_id",
                table: "member_sessions",
                column: "member_id");

            // A member's sessions end whenever their roles change, whichever code (or hand) changes them:
            // a session never outlives the grants it was opened under.
            migrationBuilder.Sql(
                """
                CREATE FUNCTION member_sessions_end_on_role_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE member_sessions SET revoked_at = now()
                    WHERE member_id IN (SELECT member_id FROM changed_roles) AND revoked_at IS NULL;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER member_roles_insert_ends_sessions AFTER INSERT ON member_roles
                    REFERENCING NEW TABLE AS changed_roles FOR EACH STATEMENT EXECUTE FUNCTION member_sessions_end_on_role_change();
                CREATE TRIGGER member_roles_delete_ends_sessions AFTER DELETE ON member_roles
                    REFERENCING OLD TABLE AS changed_roles FOR EACH STATEMENT EXECUTE FUNCTION member_sessions_end_on_role_change();
                CREATE TRIGGER member_roles_update_ends_sessions AFTER UPDATE ON member_roles
                    REFERENCING NEW TABLE AS changed_roles FOR EACH STATEMENT EXECUTE FUNCTION member_sessions_end_on_role_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER member_roles_insert_ends_sessions ON member_roles;
                DROP TRIGGER member_roles_delete_ends_sessions ON member_roles;
                DROP TRIGGER member_roles_update_ends_sessions ON member_roles;
                DROP FUNCTION member_sessions_end_on_role_change();
                """);
            migrationBuilder.DropTable(
                name: "member_sessions");
        }
    }
}
