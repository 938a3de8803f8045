using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Audit;
using Exchange.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Tests;

public sealed class CheckpointFixture : ExchangeFixture
{
    public const string Officer = "vk-checkpoint-officer";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Officer;
}

/// <summary>
/// Events arrive unsealed, and the chain's head can be signed and kept outside the database: a database owner who
/// rewrites history and re-hashes the chain after it passes the internal check, and fails the checkpoint's.
/// </summary>
public sealed class AuditCheckpointTests(CheckpointFixture system) : IClassFixture<CheckpointFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-checkpoint-").FullName;

    [Theory]
    [InlineData("chain_seq", "424242")]
    [InlineData("hash", "'\\x00'::bytea")]
    [InlineData("prev_hash", "'\\x00'::bytea")]
    [InlineData("sealed_at", "now()")]
    public async Task An_event_inserted_already_sealed_is_refused_and_ordinary_events_still_seal(string column, string value)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var forged = new NpgsqlCommand(
            $"INSERT INTO audit_events (at, actor, action, subject, data, {column}) VALUES (now(), 'system', 'test.forged', 'test:forged', '{{}}', {value})", connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => forged.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);

        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        using var officer = await system.NewTraderAsync("Cleo Checkpoint", CheckpointFixture.Officer);
        var verified = await SealedAsync(officer);
        Assert.True(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
        Assert.Equal(0, await ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'test.forged'"));
    }

    [Fact]
    public async Task A_checkpoint_taken_before_more_activity_is_extended_by_the_trail()
    {
        var (signing, verifying) = NewKeyPair();
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var file = await CheckpointAsync(signing);
        var checkpoint = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        Assert.True(checkpoint["chainSeq"]!.GetValue<long>() > 0);
        Assert.Equal(64, checkpoint["hash"]!.GetValue<string>().Length);

        await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        using var officer = await system.NewTraderAsync("Cleo Checkpoint", CheckpointFixture.Officer);
        await SealedAsync(officer);

        var (code, output) = await VerifyAsync(verifying, file);
        Assert.True(code == 0, output);
        Assert.Contains("extends the checkpoint", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_history_rewritten_and_rehashed_by_the_owner_passes_the_internal_check_but_not_the_checkpoint()
    {
        var (signing, verifying) = NewKeyPair();
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var file = await CheckpointAsync(signing);
        await trader.CreditAsync("4");
        using var officer = await system.NewTraderAsync("Cleo Checkpoint", CheckpointFixture.Officer);
        await SealedAsync(officer);

        // The owner, triggers off, makes the first credit ten times larger, unseals everything from it on, and lets the
        // sealer re-hash the chain: it holds again in itself.
        var target = await ScalarAsync<long>($"SELECT chain_seq FROM audit_events WHERE actor = 'member:{trader.Subject}' AND action = 'balance.dev_credit' ORDER BY seq LIMIT 1");
        await using (var owner = new NpgsqlConnection(system.OwnerConnectionString))
        {
            await owner.OpenAsync();
            await using var rewrite = new NpgsqlCommand(
                $$"""
                BEGIN;
                SELECT pg_advisory_xact_lock({{AuditChain.SealerLock}});
                SET LOCAL session_replication_role = replica;
                UPDATE audit_events SET data = jsonb_set(data, '{amount}', '"30"') WHERE chain_seq = {{target}};
                UPDATE audit_events SET chain_seq = NULL, prev_hash = NULL, hash = NULL, sealed_at = NULL WHERE chain_seq >= {{target}};
                DELETE FROM audit_chain_head;
                COMMIT;
                """, owner);
            await rewrite.ExecuteNonQueryAsync();
        }

        await system.InScopeAsync(async (_, services) => await services.GetRequiredService<AuditChain>().SealAsync(CancellationToken.None));
        var internalCheck = await SealedAsync(officer);
        Assert.True(internalCheck["ok"]!.GetValue<bool>(), internalCheck.ToJsonString());
        Assert.Equal("30", JsonNode.Parse(await ScalarAsync<string>($"SELECT data::text FROM audit_events WHERE chain_seq = {target}"))!["amount"]!.GetValue<string>());

        var (code, output) = await VerifyAsync(verifying, file);
        Assert.True(code == AuditCheckpointCommand.Refuted, output);
        var checkpointSeq = JsonNode.Parse(await File.ReadAllTextAsync(file))!["chainSeq"]!.GetValue<long>();
        Assert.Contains($"chain sequence {checkpointSeq} no longer has the checkpoint's hash", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chainSeq")]
    [InlineData("hash")]
    [InlineData("another key")]
    public async Task A_checkpoint_changed_after_signing_or_signed_by_another_key_is_refused(string change)
    {
        var (signing, verifying) = NewKeyPair();
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        var file = await CheckpointAsync(signing);
        var checkpoint = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject();
        if (change == "chainSeq")
        {
            checkpoint["chainSeq"] = checkpoint["chainSeq"]!.GetValue<long>() - 1;
        }
        else if (change == "hash")
        {
            checkpoint["hash"] = new string('0', 64);
        }
        else
        {
            verifying = NewKeyPair().Verifying;
        }

        await File.WriteAllTextAsync(file, checkpoint.ToJsonString());
        var (code, output) = await VerifyAsync(verifying, file);

        Assert.True(code == AuditCheckpointCommand.Refuted, output);
        Assert.Contains("signature does not verify", output, StringComparison.Ordinal);
    }

    private async Task<string> CheckpointAsync(string signingKey)
    {
        var file = Path.Combine(_dir, Guid.NewGuid() + ".json");
        var settings = system.ExchangeSettings();
        settings["Audit:CheckpointSigningKey"] = signingKey;
        await using var process = ExchangeProcess.Start(settings, "audit-checkpoint", "--output", file);
        Assert.True(await process.WaitForExitAsync() == 0, process.Output);
        Assert.Contains(JsonNode.Parse(await File.ReadAllTextAsync(file))!["hash"]!.GetValue<string>(), process.Output, StringComparison.Ordinal);
        return file;
    }

    /// <summary>With the public key alone, as an auditor outside the exchange would.</summary>
    private async Task<(int Code, string Output)> VerifyAsync(string verifyKey, string file)
    {
        var settings = system.ExchangeSettings();
        settings["Audit:CheckpointVerifyKey"] = verifyKey;
        await using var process = ExchangeProcess.Start(settings, "audit", "verify", "--checkpoint", file);
        var code = await process.WaitForExitAsync();
        return (code, process.Output);
    }

    private (string Signing, string Verifying) NewKeyPair()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllText(name + ".key.pem", key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(name + ".pub.pem", key.ExportSubjectPublicKeyInfoPem());
        return (name + ".key.pem", name + ".pub.pem");
    }

    private static Task<JsonObject> SealedAsync(Trader officer) => Poll.UntilAsync(
        async () => (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!,
        v => v["unsealed"]!.GetValue<long>() == 0, "everything to be sealed");

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
