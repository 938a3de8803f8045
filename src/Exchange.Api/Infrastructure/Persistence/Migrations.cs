using System.Runtime.Loader;
using Hangfire.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Brings the database up to date at start-up, as the schema's owner: the EF Core migrations kept in
/// the Exchange.Migrations assembly, Hangfire's schema, and the application role's rights. The
/// application itself connects as a role that may insert audit events but never change or delete
/// them (only the sealer's one-time write of the seal columns), so the database refuses a rewrite
/// of history by the application's own credentials, not only by trigger.
/// </summary>
public static class Migrations
{
    /// <param name="ownerConnectionString">The schema owner; the application's own connection string when none is configured.</param>
    /// <param name="applicationConnectionString">The application's connection: its user is the role granted rights.</param>
    public static void Apply(string ownerConnectionString, string applicationConnectionString, ILogger logger)
    {
        LoadMigrationsAssembly();
        var options = new DbContextOptionsBuilder<ExchangeDbContext>()
            .UseNpgsql(ownerConnectionString, npgsql => npgsql.MigrationsAssembly(ExchangeDbContext.MigrationsAssembly))
            .UseSnakeCaseNamingConvention()
            .Options;
        using var db = new ExchangeDbContext(options);
        // Several instances may start at once; PostgreSQL's advisory lock lets one migrate at a time.
        db.Database.OpenConnection();
        try
        {
            db.Database.ExecuteSqlRaw($"SELECT pg_advisory_lock({(long)AdvisoryLock.Migrations})");
            db.Database.Migrate();
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            PostgreSqlObjectsInstaller.Install(connection, JobsSchema);

            var owner = new NpgsqlConnectionStringBuilder(ownerConnectionString).Username;
            var application = new NpgsqlConnectionStringBuilder(applicationConnectionString).Username;
            if (string.IsNullOrEmpty(application) || string.Equals(owner, application, StringComparison.Ordinal))
            {
                logger.LogWarning(
                    "The application connects as the schema owner ({User}): only the trigger keeps audit events append-only. " +
                    "Set ConnectionStrings:ExchangeOwner to the owner and ConnectionStrings:Exchange to a role of its own.", owner);
            }
            else
            {
                GrantApplicationRights(db, application);
            }
        }
        finally
        {
            db.Database.ExecuteSqlRaw($"SELECT pg_advisory_unlock({(long)AdvisoryLock.Migrations})");
            db.Database.CloseConnection();
        }
    }

    public const string JobsSchema = "hangfire";

    /// <summary>
    /// Everything on the business and job tables but history: audit events may be read and inserted,
    /// and of their columns only the seal may be written (the trigger allows it once). Run after every
    /// migration, so tables added later are covered. Creates the role when it is missing (development
    /// and tests, where the cluster trusts local logins); production provisions it with a password.
    /// </summary>
    private static void GrantApplicationRights(ExchangeDbContext db, string role)
    {
        var quoted = "\"" + role.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var literal = "'" + role.Replace("'", "''", StringComparison.Ordinal) + "'";
        // Identifiers cannot be parameters: the role name is quoted above, and comes from our own configuration.
        var grants = $"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal}) THEN
                    CREATE ROLE {quoted} LOGIN;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                -- Another instance or test database created it a moment ago.
                NULL;
            END $$;
            GRANT USAGE ON SCHEMA public, {JobsSchema} TO {quoted};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, {JobsSchema} TO {quoted};
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public, {JobsSchema} TO {quoted};
            REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "__EFMigrationsHistory" FROM {quoted};
            REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {quoted};
            REVOKE DELETE, TRUNCATE ON audit_chain_head FROM {quoted};
            GRANT UPDATE (chain_seq, prev_hash, hash, sealed_at) ON audit_events TO {quoted};
            """;
        db.Database.ExecuteSqlRaw(grants);
    }

    /// <summary>
    /// The migrations project references this one, so this one cannot reference it back: its build
    /// places Exchange.Migrations.dll beside ours, and EF's load of it by name is answered from there.
    /// </summary>
    private static void LoadMigrationsAssembly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, ExchangeDbContext.MigrationsAssembly + ".dll");
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            name.Name == ExchangeDbContext.MigrationsAssembly && File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }
}
