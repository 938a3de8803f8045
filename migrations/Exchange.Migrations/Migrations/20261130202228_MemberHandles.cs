using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class MemberHandles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "handle",
                table: "members",
                type: "character varying(12)",
                maxLength: 12,
                nullable: true);

            // Existing members get a handle drawn as AccountHandle.New draws one: 8 Crockford base32
            // characters from PostgreSQL's strong random source (the random bytes of gen_random_uuid;
            // a byte modulo 32 is uniform), drawn again on a collision. Names and emails stored before
            // are cleaned of control and bidirectional characters, as DisplayText.Clean does at sign-in.
            migrationBuilder.Sql("""
                DO $$
                DECLARE
                    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
                    member_id uuid;
                    bytes bytea;
                    drawn text;
                BEGIN
                    FOR member_id IN SELECT id FROM members WHERE handle IS NULL ORDER BY created_at LOOP
                        LOOP
                            bytes := uuid_send(gen_random_uuid());
                            drawn := 'EX-';
                            -- Bytes 6 and 8 carry the UUID's version and variant bits: use the others.
                            FOR i IN 0..7 LOOP
                                drawn := drawn || substr(alphabet, get_byte(bytes, (ARRAY[0, 1, 2, 3, 4, 5, 10, 11])[i + 1]) % 32 + 1, 1);
                                IF i = 3 THEN
                                    drawn := drawn || '-';
                                END IF;
                            END LOOP;
                            EXIT WHEN NOT EXISTS (SELECT 1 FROM members WHERE handle = drawn);
                        END LOOP;
                        UPDATE members SET handle = drawn WHERE id = member_id;
                    END LOOP;
                END $$;

                UPDATE members SET
                    name = regexp_replace(regexp_replace(name, '[\x01-\x1F\x7F-\x9F\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]', '', 'g'), '^\s+|\s+$', '', 'g'),
                    email = regexp_replace(regexp_replace(email, '[\x01-\x1F\x7F-\x9F\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]', '', 'g'), '^\s+|\s+$', '', 'g')
                WHERE name ~ '[\x01-\x1F\x7F-\x9F\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]|^\s|\s$'
                   OR email ~ '[\x01-\x1F\x7F-\x9F\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]|^\s|\s$';
                """);

            migrationBuilder.AlterColumn<string>(
                name: "handle",
                table: "members",
                type: "character varying(12)",
                maxLength: 12,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "character varying(12)",
                oldMaxLength: 12,
                oldNullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_members_handle",
                table: "members",
                column: "handle",
                unique: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_members_handle_format",
                table: "members",
                sql: "handle ~ '^EX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_members_handle",
                table: "members");

            migrationBuilder.DropCheckConstraint(
                name: "ck_members_handle_format",
                table: "members");

            migrationBuilder.DropColumn(
                name: "handle",
                table: "members");
        }
    }
}
