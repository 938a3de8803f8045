using System.Security.Cryptography;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>
/// With DataProtection:CertificatePath set, the Data Protection keys in PostgreSQL are encrypted to the certificate:
/// a copy of the database alone neither reads the members' tokens nor forges a session. Built in-process as Testing
/// (the guard that demands the setting elsewhere is ProductionConfigurationTests').
/// </summary>
public sealed class DataProtectionAtRestTests : IDisposable
{
    private readonly DataProtectionCertificates _certificates = new();

    [Fact]
    public async Task With_a_certificate_the_stored_keys_are_encrypted_and_only_a_host_with_it_reads_them()
    {
        var owner = await (await PostgresServer.Shared).CreateDatabaseAsync("exchange");
        var application = new NpgsqlConnectionStringBuilder(owner) { Username = ExchangeFixture.ApplicationRole }.ConnectionString;
        var certificate = _certificates.Pfx("a certificate password");
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Exchange"] = application,
            ["ConnectionStrings:ExchangeOwner"] = owner,
            ["Exchange:ServeApi"] = "false",
            ["Exchange:RunJobs"] = "false",
            ["DataProtection:CertificatePath"] = certificate,
            ["DataProtection:CertificatePasswordFile"] = _certificates.Write(System.Text.Encoding.UTF8.GetBytes("a certificate password\n")),
        };

        string protectedToken;
        await using (var first = await BuildAsync(settings))
        {
            protectedToken = first.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("a member's refresh token");
        }

        var stored = await KeyXmlAsync(owner);
        var xml = Assert.Single(stored);
        Assert.Contains("<encryptedSecret", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);

        // Another instance with the certificate reads the key; one with the database alone cannot.
        settings["Exchange:MigrateOnStartup"] = "false";
        await using (var second = await BuildAsync(settings))
        {
            Assert.Equal("a member's refresh token", second.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(protectedToken));
        }

        settings.Remove("DataProtection:CertificatePath");
        settings.Remove("DataProtection:CertificatePasswordFile");
        await using var withoutCertificate = await BuildAsync(settings);
        Assert.ThrowsAny<CryptographicException>(() => withoutCertificate.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(protectedToken));
    }

    private static Task<WebApplication> BuildAsync(Dictionary<string, string?> settings) => Task.Run(() =>
        ExchangeApp.Build(["--environment", "Testing"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        }));

    private static async Task<List<string>> KeyXmlAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT xml FROM data_protection_keys", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    public void Dispose() => _certificates.Dispose();
}
