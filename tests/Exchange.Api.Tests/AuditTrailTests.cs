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

/// <summary>The audit trail: sealed into a hash chain after commit, append-only in the database, verifiable.</summary>
public sealed class AuditTrailTests(ComplianceFixture system) : IClassFixture<ComplianceFixture>
{
    [Fact]
    public async Task After_mixed_withdrawals_and_transfers_every_event_is_sealed_and_the_chain_verifies()
    {
        using var officer = await system.NewTraderAsync("Carla Compliance", ComplianceFixture.Officer);
        await RunSomeBusinessAsync();

        var verified = await SealedVerificationAsync(officer);

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
    public async Task Tampering_behind_the_triggers_back_is_found_and_the_first_broken_event_named()
    {
        using var officer = await system.NewTraderAsync("Carla Compliance", ComplianceFixture.Officer);
        await RunSomeBusinessAsync();
        Assert.True((await SealedVerificationAsync(officer))["ok"]!.GetValue<bool>());
        var (first, second) = await TwoSealedEventsAsync();

        // A superuser can switch the triggers off for a session; the chain still tells.
        await TamperAsync($"UPDATE audit_events SET data = '{{\"amount\":\"1000\"}}' WHERE seq = {first.Seq}");
        await AssertBrokenAtAsync(officer, first.Seq);
        await TamperAsync($"UPDATE audit_events SET data = '{first.Data.Replace("'", "''", StringComparison.Ordinal)}'::jsonb WHERE seq = {first.Seq}");
        Assert.True((await VerifyAsync(officer))["ok"]!.GetValue<bool>());

        await TamperAsync($"""
            UPDATE audit_events SET data = CASE seq WHEN {first.Seq} THEN '{second.Data.Replace("'", "''", StringComparison.Ordinal)}'::jsonb
                                                    ELSE '{first.Data.Replace("'", "''", StringComparison.Ordinal)}'::jsonb END
            WHERE seq IN ({first.Seq}, {second.Seq})
            """);
        await AssertBrokenAtAsync(officer, first.Seq);
        await TamperAsync($"""
            UPDATE audit_events SET data = CASE seq WHEN {first.Seq} THEN '{first.Data.Replace("'", "''", StringComparison.Ordinal)}'::jsonb
                                                    ELSE '{second.Data.Replace("'", "''", StringComparison.Ordinal)}'::jsonb END
            WHERE seq IN ({first.Seq}, {second.Seq})
            """);

        await TamperAsync($"DELETE FROM audit_events WHERE seq = {first.Seq}");
        await AssertBrokenAtAsync(officer, second.Seq);
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

    private async Task RunSomeBusinessAsync()
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

    private async Task<JsonObject> VerifyAsync(Trader officer) => (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!;

    /// <summary>Verification once the sealer has caught up with everything written so far.</summary>
    private Task<JsonObject> SealedVerificationAsync(Trader officer) =>
        Poll.UntilAsync(() => VerifyAsync(officer), v => v["unsealed"]!.GetValue<long>() == 0, "the sealer to seal every event");

    private async Task AssertBrokenAtAsync(Trader officer, long seq)
    {
        var verified = await VerifyAsync(officer);
        Assert.False(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
        Assert.Equal(seq, verified["firstBrokenSeq"]!.GetValue<long>());
    }

    private sealed record Row(long Seq, string Data);

    /// <summary>Two neighbours in the chain whose data differ, so swapping them changes something.</summary>
    private async Task<(Row First, Row Second)> TwoSealedEventsAsync()
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT a.seq, a.data::text, b.seq, b.data::text FROM audit_events a
            JOIN audit_events b ON b.chain_seq = a.chain_seq + 1
            WHERE a.data <> b.data ORDER BY a.chain_seq LIMIT 1
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (new Row(reader.GetInt64(0), reader.GetString(1)), new Row(reader.GetInt64(2), reader.GetString(3)));
    }

    private async Task TamperAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SET session_replication_role = replica; " + sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
