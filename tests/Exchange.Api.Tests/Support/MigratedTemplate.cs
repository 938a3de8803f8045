using Exchange.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// One database migrated once per test run (the EF Core migrations, Hangfire's schema, the application role's
/// rights), which each fixture's database is copied from: a copy costs PostgreSQL a file copy, where migrating every
/// fixture's database cost a second or two of CPU each. The exchange still runs its migrations at start-up and finds
/// nothing to do; migrating an empty database is still tested (MemberHandleTests, DataProtectionAtRestTests, make run).
/// </summary>
public static class MigratedTemplate
{
    private static readonly Lazy<Task<string>> Template = new(CreateAsync);

    /// <summary>A new database, already migrated, owned as the fixture's other databases are; its owner connection string.</summary>
    public static async Task<string> CopyAsync(string prefix)
    {
        var template = await Template.Value;
        return await (await PostgresServer.Shared).CreateDatabaseAsync(prefix, template);
    }

    private static async Task<string> CreateAsync()
    {
        var owner = await (await PostgresServer.Shared).CreateDatabaseAsync("template");
        var application = new NpgsqlConnectionStringBuilder(owner) { Username = ExchangeFixture.ApplicationRole }.ConnectionString;
        await Task.Run(() => Exchange.Api.Infrastructure.Persistence.Migrations.Apply(owner, application, NullLogger.Instance));
        // A database is copied only while nobody is connected to it.
        await using (var connection = new NpgsqlConnection(owner))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        return new NpgsqlConnectionStringBuilder(owner).Database!;
    }
}
