using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Audit;
using Exchange.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
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
            // Warm up (JIT, the connection pool), then alternate: sealing running, sealing held off. After each round,
            // the newest sequence number: every credit of a round was answered (committed) before the next round began.
            var start = await ScalarAsync<long>("SELECT coalesce(max(seq), 0) FROM audit_events");
            var rounds = new List<long>();
            async Task<double> RoundAsync()
            {
                var rate = await TimedCreditsAsync(traders, 200);
                rounds.Add(await ScalarAsync<long>("SELECT max(seq) FROM audit_events"));
                return rate;
            }

            await RoundAsync();
            var withSealing = new List<double>();
            var withoutSealing = new List<double>();
            // Not pooled: should an assertion fail while the sealer's lock is held, closing the connection releases it.
            await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(system.OwnerConnectionString) { Pooling = false }.ConnectionString);
            await holder.OpenAsync();
            for (var round = 0; round < 3; round++)
            {
                withSealing.Add(await RoundAsync());

                // The sealer's lock held by someone else: the sealer skips its passes, and the writers must not notice.
                await ExecuteAsync(holder, $"SELECT pg_advisory_lock({AuditChain.SealerLock})");
                var before = await ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL");
                withoutSealing.Add(await RoundAsync());
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

            // Chain order is commit order, in two forms exact on any machine (no window for the instant between a commit's
            // timestamp and its visibility, in which two commits may become visible in the other order).
            var chain = await ChainAsync();
            AssertEachPassInCommitOrder(chain);
            AssertEachRoundBeforeTheNext(chain, start, rounds);
        }
        finally
        {
            traders.ForEach(t => t.Dispose());
        }
    }

    private sealed record Link(long Seq, long ChainSeq, string Pass, DateTime? Committed, string Action);

    /// <summary>The sealed events in chain order, each with its sealing pass (the transaction that linked it: its xmin) and its commit time.</summary>
    private async Task<List<Link>> ChainAsync()
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT seq, chain_seq, xmin::text, pg_xact_commit_timestamp(writer_xid::xid), action
            FROM audit_events WHERE chain_seq IS NOT NULL ORDER BY chain_seq
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var links = new List<Link>();
        while (await reader.ReadAsync())
        {
            links.Add(new Link(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetDateTime(3), reader.GetString(4)));
        }

        return links;
    }

    /// <summary>One pass links what it sees in commit order: within it, commit timestamps never go back.</summary>
    private static void AssertEachPassInCommitOrder(List<Link> chain)
    {
        var backwards = chain.Zip(chain.Skip(1)).Where(p => p.First.Pass == p.Second.Pass && p.First.Committed is { } before
            && (p.Second.Committed is not { } after || after < before)).ToList();
        Assert.True(backwards.Count == 0, $"{backwards.Count} links go back in commit time within a pass, e.g. {backwards.FirstOrDefault()}");
    }

    /// <summary>
    /// A change committed before another began is linked before it, whichever passes link them: every credit of a round
    /// (all answered before the next round started) comes before every credit of the next round along the chain.
    /// </summary>
    [Fact]
    public async Task Verifying_while_seals_commit_never_mistakes_the_moving_head_for_deleted_events()
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        for (var round = 0; round < 60; round++)
        {
            await ExecuteAsync(connection, "INSERT INTO audit_events (at, actor, action, subject, data) SELECT now(), 'system', 'test.race', 'test:race', '{}' FROM generate_series(1, 20)");
            // A seal and a verification at once, besides the host's own sealer: the head moves while the chain is walked.
            var verifications = await Task.WhenAll(
                system.InScopeAsync(async (_, services) => (object)await services.GetRequiredService<AuditChain>().SealAsync(CancellationToken.None)),
                system.InScopeAsync(async (_, services) => (object)await services.GetRequiredService<AuditChain>().VerifyAsync(CancellationToken.None)),
                system.InScopeAsync(async (_, services) => (object)await services.GetRequiredService<AuditChain>().VerifyAsync(CancellationToken.None)));
            foreach (var verification in verifications.OfType<AuditChain.Verification>())
            {
                Assert.True(verification.Ok, $"round {round}: {verification}");
            }
        }
    }

    private static void AssertEachRoundBeforeTheNext(List<Link> chain, long start, List<long> rounds)
    {
        var credits = chain.Where(l => l.Action == "balance.dev_credit" && l.Seq > start && l.Seq <= rounds[^1])
            .Select(l => (Link: l, Round: rounds.FindIndex(last => l.Seq <= last))).ToList();
        Assert.Equal(200 * rounds.Count, credits.Count);
        var early = credits.Zip(credits.Skip(1)).Where(p => p.Second.Round < p.First.Round).ToList();
        Assert.True(early.Count == 0, $"{early.Count} credits linked before a round that ended before they began, e.g. {early.FirstOrDefault()}");
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
