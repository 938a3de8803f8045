using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Audit;
using Exchange.Api.Tests.Support;
using Npgsql;
using Xunit.Abstractions;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Tests;

public sealed class SealingFixture : ExchangeFixture
{
    public const string Officer = "vk-sealing-officer";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Officer;
}

/// <summary>
/// Sealing follows commit order and never holds a writer up: events are linked after they commit,
/// by one sealer whose lock no writer takes.
/// </summary>
public sealed class AuditSealingTests(SealingFixture system, ITestOutputHelper output) : IClassFixture<SealingFixture>
{
    [Fact]
    public async Task A_transaction_that_took_its_number_early_and_committed_late_is_sealed_in_its_commit_position()
    {
        using var trader = await system.NewTraderAsync();

        // An open transaction of the application's own role takes a sequence number and holds it.
        await using var late = new NpgsqlConnection(system.ConnectionString);
        await late.OpenAsync();
        await using var transaction = await late.BeginTransactionAsync();
        long lateSeq;
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO audit_events (at, actor, action, subject, data) VALUES (now(), 'system', 'test.late', 'test:late', '{}') RETURNING seq",
            late, transaction))
        {
            lateSeq = (long)(await insert.ExecuteScalarAsync())!;
        }

        // Later numbers commit and are sealed while it is still open: the open transaction holds nothing up.
        await trader.CreditAsync("1");
        var later = await SingleSeqAsync($"member:{trader.Subject}", "balance.dev_credit");
        Assert.True(later > lateSeq);
        var laterChain = await Poll.UntilAsync(() => ChainSeqAsync(later), c => c is not null, "the later event to be sealed");

        await transaction.CommitAsync();
        var lateChain = await Poll.UntilAsync(() => ChainSeqAsync(lateSeq), c => c is not null, "the late event to be sealed");

        // Sealed after the events that committed before it, though its number is smaller; and the chain holds.
        Assert.True(lateChain > laterChain, $"late event chained at {lateChain}, the later one at {laterChain}");
        using var officer = await system.NewTraderAsync("Sam Sealer", SealingFixture.Officer);
        var verified = await Poll.UntilAsync(() => VerifyAsync(officer), v => v["unsealed"]!.GetValue<long>() == 0, "everything to be sealed");
        Assert.True(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
    }

    [Fact]
    public async Task Two_hundred_concurrent_changes_complete_while_the_sealer_is_held_then_seal_in_commit_order()
    {
        var traders = new List<Trader>();
        for (var i = 0; i < 10; i++)
        {
            traders.Add(await system.NewTraderAsync());
        }

        try
        {
            // Warm up (JIT, the connection pool), then alternate: sealing running, sealing held off.
            await TimedCreditsAsync(traders, 200);
            var withSealing = new List<double>();
            var withoutSealing = new List<double>();
            await using var holder = new NpgsqlConnection(system.OwnerConnectionString);
            await holder.OpenAsync();
            for (var round = 0; round < 3; round++)
            {
                withSealing.Add(await TimedCreditsAsync(traders, 200));

                // The sealer's lock held by someone else: the sealer skips its passes, and the writers must not notice.
                await ExecuteAsync(holder, $"SELECT pg_advisory_lock({AuditChain.SealerLock})");
                var before = await ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL");
                withoutSealing.Add(await TimedCreditsAsync(traders, 200));
                var unsealed = await ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL");
                Assert.True(unsealed >= before + 200, $"{unsealed} unsealed, {before} before: the 200 changes should wait for no seal");
                await ExecuteAsync(holder, $"SELECT pg_advisory_unlock({AuditChain.SealerLock})");
            }

            double Median(List<double> rates) => rates.Order().ElementAt(rates.Count / 2);
            output.WriteLine($"200 concurrent credits, median of 3: {Median(withSealing):F0}/s with sealing running, {Median(withoutSealing):F0}/s " +
                $"with sealing held off (ratio {Median(withSealing) / Median(withoutSealing):P0}); rounds on [{string.Join(", ", withSealing.Select(r => r.ToString("F0")))}], " +
                $"off [{string.Join(", ", withoutSealing.Select(r => r.ToString("F0")))}]. Timing targets are for make bench; this only reports.");

            using var officer = await system.NewTraderAsync("Sam Sealer", SealingFixture.Officer);
            var verified = await Poll.UntilAsync(() => VerifyAsync(officer), v => v["unsealed"]!.GetValue<long>() == 0, "the sealer to catch up");
            Assert.True(verified["ok"]!.GetValue<bool>(), verified.ToJsonString());
            Assert.Equal(await ScalarAsync<long>("SELECT count(*) FROM audit_events"), verified["checked"]!.GetValue<long>());

            // Chain order is commit order. PostgreSQL records a commit's timestamp a moment before the transaction
            // becomes visible, so two commits of the same instant may become visible in the other order, and a pass
            // links what it can see: along the chain, commit timestamps never go back by more than that instant.
            var backwards = await ScalarAsync<long>(
                """
                SELECT count(*) FROM (
                    SELECT pg_xact_commit_timestamp(writer_xid::xid) AS committed,
                           lag(pg_xact_commit_timestamp(writer_xid::xid)) OVER (ORDER BY chain_seq) AS before
                    FROM audit_events) c
                WHERE committed < before - interval '50 milliseconds'
                """);
            Assert.Equal(0, backwards);
        }
        finally
        {
            traders.ForEach(t => t.Dispose());
        }
    }

    private async Task<double> TimedCreditsAsync(List<Trader> traders, int count)
    {
        var watch = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            using var response = await traders[i % traders.Count].Http.PostAsJsonAsync("/api/dev/credit", new { asset = "ETH", amount = "0.001" });
            return response.StatusCode;
        }));
        watch.Stop();
        Assert.All(results, s => Assert.Equal(HttpStatusCode.OK, s));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<JsonObject> VerifyAsync(Trader officer) => (await officer.Http.GetFromJsonAsync<JsonObject>("/api/audit/verify"))!;

    private Task<long> SingleSeqAsync(string actor, string action) =>
        ScalarAsync<long>($"SELECT seq FROM audit_events WHERE actor = '{actor}' AND action = '{action}'");

    private async Task<long?> ChainSeqAsync(long seq)
    {
        var value = await ScalarAsync<object>($"SELECT chain_seq FROM audit_events WHERE seq = {seq}");
        return value is long chain ? chain : null;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

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
        await using var holder = new NpgsqlConnection(system.OwnerConnectionString);
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

        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AuditChain.SealerLock})", holder))
        {
            await release.ExecuteNonQueryAsync();
        }
    }

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
