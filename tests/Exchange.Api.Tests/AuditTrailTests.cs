using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Npgsql;

namespace Exchange.Api.Tests;

public sealed class ComplianceFixture : ExchangeFixture
{
    public const string Officer = "vk-compliance-officer";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Officer;
}

/// <summary>
/// The audit trail: sealed into a hash chain after commit, append-only in the database, verifiable. Tampering
/// leaves the chain broken, so it has a system of its own (<see cref="AuditTamperingTests"/>).
/// </summary>
public sealed class AuditTrailTests(ComplianceFixture system) : IClassFixture<ComplianceFixture>
{
    [Fact]
    public async Task After_mixed_withdrawals_and_transfers_every_event_is_sealed_and_the_chain_verifies()
    {
        using var officer = await system.NewTraderAsync("Carla Compliance", ComplianceFixture.Officer);
        await AuditTrailSteps.RunSomeBusinessAsync(system);

        var verified = await AuditTrailSteps.SealedVerificationAsync(officer);

        Assert.True(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
        var total = await system.InScopeAsync((db, _) => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.AuditEvents));
        Assert.Equal(total, verified["checked"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_applications_own_connection_cannot_change_or_delete_an_audit_event()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();

        foreach (var sql in new[]
        {
            "UPDATE audit_events SET data = '{\"forged\":true}' WHERE seq = (SELECT max(seq) FROM audit_events)",
            "UPDATE audit_events SET actor = 'someone else'",
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
            "TRUNCATE audit_events",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
    }

    [Fact]
    public async Task Only_compliance_reads_the_audit_trail()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(system.ExchangeUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/audit")).StatusCode);

        using var trader = await system.NewTraderAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/api/audit/verify")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/api/audit/export?format=csv")).StatusCode);

        using var officer = await system.NewTraderAsync("Carla Compliance", ComplianceFixture.Officer);
        await trader.CreditAsync("3");
        var page = (await officer.Http.GetFromJsonAsync<JsonObject>($"/api/audit?actor=member:{trader.Subject}&action=balance.dev_credit"))!;
        Assert.Equal(1, page["total"]!.GetValue<int>());

        using var export = await officer.Http.GetAsync($"/api/audit/export?format=csv&actor=member:{trader.Subject}");
        Assert.Equal("text/csv", export.Content.Headers.ContentType?.MediaType);
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("seq,at,actor,action,subject,data,chain_seq,hash", lines[0]);
        Assert.Contains(lines, l => l.Contains("balance.dev_credit", StringComparison.Ordinal));
    }
}

/// <summary>What the audit trail tests share: some business to seal, and the compliance officer's verification.</summary>
internal static class AuditTrailSteps
{
    /// <summary>A confirmed withdrawal and a declined transfer, each with its challenge's answer recorded.</summary>
    public static async Task RunSomeBusinessAsync(ExchangeFixture system)
    {
        using var a = await system.NewTraderAsync();
        using var b = await system.NewTraderAsync();
        await a.CreditAsync("10");
        var withdrawal = await a.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(a.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await a.WaitForWithdrawalAsync(withdrawal, "confirmed");
        using var transfer = await a.TransferAsync("2", b.Subject);
        var transferId = (await transfer.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var second = await system.PendingChallengeAsync(a.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(second["vivo_id"]!.GetValue<string>(), "decline"));
        await a.WaitForTransferAsync(transferId, "declined");

        // VivoKey's answer to each POST may be recorded after its callback: wait for both, so no event comes later.
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "challenge.accepted"), n => n == 1, "the withdrawal's challenge to be accepted");
        await Poll.UntilAsync(() => system.CountAsync($"transfer:{transferId}", "challenge.accepted"), n => n == 1, "the transfer's challenge to be accepted");
    }

    public static async Task<JsonObject> VerifyAsync(Trader officer) => (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!;

    /// <summary>Verification once the sealer has caught up with everything written so far.</summary>
    public static Task<JsonObject> SealedVerificationAsync(Trader officer) =>
        Poll.UntilAsync(() => VerifyAsync(officer), v => v["unsealed"]!.GetValue<long>() == 0, "the sealer to seal every event");
}
