using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>Small batches, so a backlog of a hundred spans many of them.</summary>
public sealed class SmallBatchFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Reconciler:BatchSize"] = "16";
}

/// <summary>
/// A backlog of due challenges (VivoKey's callbacks lost for a while) ends in one pass, batch after batch,
/// each request ended once and its funds back, transfers among them, with nothing left pending.
/// </summary>
public sealed class ReconcilerBacklogTests(SmallBatchFixture system) : IClassFixture<SmallBatchFixture>
{
    [Fact]
    public async Task One_pass_ends_a_backlog_many_batches_long_and_gives_every_hold_back()
    {
        using var alice = await system.NewTraderAsync();
        using var bob = await system.NewTraderAsync();
        await alice.CreditAsync("100");
        await bob.CreditAsync("100");
        var destination = ExchangeFixture.NewAddress();
        var requests = new List<(Trader Owner, string Kind, Guid Id)>();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(async lane =>
        {
            for (var i = 0; i < 25; i++)
            {
                var trader = lane == 0 ? alice : bob;
                var other = lane == 0 ? bob : alice;
                // Transfers both ways among the withdrawals: ending them locks both members' balances in one batch.
                using var response = i % 5 == 0
                    ? await trader.TransferAsync("0.5", other.Subject)
                    : await trader.WithdrawAsync("0.5", destination);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
                lock (requests)
                {
                    requests.Add((trader, i % 5 == 0 ? "transfer" : "withdrawal", JsonNode.Parse(body)!["id"]!.GetValue<Guid>()));
                }
            }
        }));

        var ids = requests.Select(r => r.Id).ToArray();
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        await Poll.UntilAsync(async () =>
        {
            await using var sending = new NpgsqlCommand("SELECT count(*) FROM challenges WHERE request_id = ANY(@ids) AND state = 'Accepted'", connection);
            sending.Parameters.AddWithValue("ids", ids);
            return (long)(await sending.ExecuteScalarAsync())!;
        }, accepted => accepted == ids.Length, "VivoKey to accept every challenge");

        // Past their deadline and the grace period, all at once.
        await using (var due = new NpgsqlCommand("UPDATE challenges SET deadline = now() - interval '1 hour' WHERE request_id = ANY(@ids)", connection))
        {
            due.Parameters.AddWithValue("ids", ids);
            Assert.Equal(ids.Length, await due.ExecuteNonQueryAsync());
        }

        var report = await system.RunReconcilerAsync();

        Assert.Equal(ids.Length, report.Expired);
        foreach (var (owner, kind, id) in requests)
        {
            var request = kind == "transfer" ? await owner.TransferAsync(id) : await owner.WithdrawalAsync(id);
            Assert.Equal("expired", request["status"]!.GetValue<string>());
        }

        Assert.Equal(("100", "0"), await alice.BalanceAsync());
        Assert.Equal(("100", "0"), await bob.BalanceAsync());
        Assert.Equal(new Exchange.Api.Features.Requests.Reconcile.Report(0, 0, 0, 0, 0), await system.RunReconcilerAsync());
    }
}
