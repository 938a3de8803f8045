using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Bookkeeping;
using Exchange.Api.Tests.Support;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>Its own system: the test leaves the chain broken.</summary>
public sealed class AuditTailFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = SealingFixture.Officer;
}

public sealed class AuditTailTests(AuditTailFixture system) : IClassFixture<AuditTailFixture>
{
    [Fact]
    public async Task Deleting_the_newest_events_is_found_through_the_recorded_head()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        using var officer = await system.NewTraderAsync("Sam Sealer", SealingFixture.Officer);
        var sealedChain = await Poll.UntilAsync(async () => (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!, v => v["unsealed"]!.GetValue<long>() == 0, "everything to be sealed");
        Assert.True(sealedChain["ok"]!.GetValue<bool>());
        var length = sealedChain["checked"]!.GetValue<long>();

        // The sealer is held off so nothing is sealed after the cut; a superuser removes the two newest events.
        // Not pooled: should an assertion fail, closing the connection releases the sealer's lock, rather than a pooled session keeping it.
        await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(system.OwnerConnectionString) { Pooling = false }.ConnectionString);
        await holder.OpenAsync();
        await using (var cut = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_lock({AuditChain.SealerLock});
            SET session_replication_role = replica;
            DELETE FROM audit_events WHERE chain_seq > {length - 2};
            """, holder))
        {
            await cut.ExecuteNonQueryAsync();
        }

        var verified = (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!;
        Assert.False(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
        Assert.Equal(length - 2, verified["missingAfterChainSeq"]!.GetValue<long>());
    }
}

/// <summary>
/// Its own system too: a hundred thousand events are a backlog the sealer takes a while over, and no other test
/// should have to wait for it (or be slowed by it) before its own events are sealed.
/// </summary>
public sealed class AuditExportFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = SealingFixture.Officer;
}

public sealed class AuditExportTests(AuditExportFixture system) : IClassFixture<AuditExportFixture>
{
    [Fact]
    public async Task An_export_of_a_hundred_thousand_events_is_streamed_row_by_row()
    {
        const int Rows = 100_000;
        await using (var connection = new NpgsqlConnection(system.OwnerConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                $"""
                INSERT INTO audit_events (at, actor, action, subject, data)
                SELECT now(), 'system', 'test.volume', 'volume:' || i, jsonb_build_object('i', i, 'note', repeat('x', 100))
                FROM generate_series(1, {Rows}) i
                """, connection);
            insert.CommandTimeout = 120;
            await insert.ExecuteNonQueryAsync();
        }

        using var officer = await system.NewTraderAsync("Sam Sealer", SealingFixture.Officer);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/audit/export?format=csv&action=test.volume");
        using var response = await officer.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Streamed: the length is not known up front, so the answer is chunked rather than buffered whole.
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.True(response.Headers.TransferEncodingChunked);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("seq,at,actor,action,subject,data,chain_seq,hash", await reader.ReadLineAsync());
        var lines = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            Assert.Contains("test.volume", line, StringComparison.Ordinal);
            lines++;
        }

        Assert.Equal(Rows, lines);
    }
}
