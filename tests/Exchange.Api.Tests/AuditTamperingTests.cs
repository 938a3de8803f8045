using Exchange.Api.Tests.Support;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>A system of its own: the test ends with an event deleted, and the chain stays broken for whoever comes next.</summary>
public sealed class TamperingFixture : ExchangeFixture
{
    public const string Officer = "vk-tampering-officer";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Officer;
}

/// <summary>Changes made behind the triggers' back (a superuser with them switched off) are found by verification.</summary>
public sealed class AuditTamperingTests(TamperingFixture system) : IClassFixture<TamperingFixture>
{
    [Fact]
    public async Task Tampering_behind_the_triggers_back_is_found_and_the_first_broken_event_named()
    {
        using var officer = await system.NewTraderAsync("Tess Tampering", TamperingFixture.Officer);
        await AuditTrailSteps.RunSomeBusinessAsync(system);
        Assert.True((await AuditTrailSteps.SealedVerificationAsync(officer))["ok"]!.GetValue<bool>());
        var (first, second) = await TwoSealedEventsAsync();

        // A superuser can switch the triggers off for a session; the chain still tells.
        await TamperAsync($"UPDATE audit_events SET data = '{{\"amount\":\"1000\"}}' WHERE seq = {first.Seq}");
        await AssertBrokenAtAsync(officer, first.Seq);
        await TamperAsync($"UPDATE audit_events SET data = '{Quoted(first.Data)}'::jsonb WHERE seq = {first.Seq}");
        Assert.True((await AuditTrailSteps.VerifyAsync(officer))["ok"]!.GetValue<bool>());

        await TamperAsync($"""
            UPDATE audit_events SET data = CASE seq WHEN {first.Seq} THEN '{Quoted(second.Data)}'::jsonb ELSE '{Quoted(first.Data)}'::jsonb END
            WHERE seq IN ({first.Seq}, {second.Seq})
            """);
        await AssertBrokenAtAsync(officer, first.Seq);
        await TamperAsync($"""
            UPDATE audit_events SET data = CASE seq WHEN {first.Seq} THEN '{Quoted(first.Data)}'::jsonb ELSE '{Quoted(second.Data)}'::jsonb END
            WHERE seq IN ({first.Seq}, {second.Seq})
            """);

        await TamperAsync($"DELETE FROM audit_events WHERE seq = {first.Seq}");
        await AssertBrokenAtAsync(officer, second.Seq);
    }

    private static string Quoted(string json) => json.Replace("'", "''", StringComparison.Ordinal);

    private static async Task AssertBrokenAtAsync(Trader officer, long seq)
    {
        var verified = await AuditTrailSteps.VerifyAsync(officer);
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
