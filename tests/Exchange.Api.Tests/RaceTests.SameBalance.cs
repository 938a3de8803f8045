using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

/// <summary>The same balance spent twice at once: by a withdrawal and a transfer, on one instance and across two.</summary>
public sealed partial class RaceTests
{
    [Fact]
    public async Task A_withdrawal_and_a_transfer_of_the_whole_balance_at_once_one_is_held_and_the_other_refused()
    {
        using var trader = await system.NewTraderAsync();
        using var peer = await system.NewTraderAsync();

        await SpendTheWholeBalanceTwiceAsync(trader, peer, round => (system.ExchangeUrl, system.ExchangeUrl));
    }

    [Fact]
    public async Task A_withdrawal_on_one_instance_and_a_transfer_on_another_of_the_whole_balance_one_is_held_and_the_other_refused()
    {
        using var trader = await system.NewTraderAsync();
        using var peer = await system.NewTraderAsync();
        // A second exchange on the same database (API only, as behind a load balancer); the session is good on both.
        var settings = system.ExchangeSettings();
        settings["Urls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Exchange:RunJobs"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using var second = ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await second.StartAsync();
        var (one, two) = (system.ExchangeUrl, settings["Urls"]!);

        // Each round the withdrawal goes to one instance and the transfer to the other, the other way round the next.
        await SpendTheWholeBalanceTwiceAsync(trader, peer, round => round % 2 == 0 ? (one, two) : (two, one));
        await second.StopAsync();
    }

    /// <summary>
    /// Rounds of: credit 1 ETH, so exactly 1 is available; ask for a withdrawal of 1 and a transfer of 1 at the same
    /// moment. One is accepted and holds it, the other is refused with 409 naming the amount; nothing goes negative.
    /// </summary>
    private async Task SpendTheWholeBalanceTwiceAsync(Trader trader, Trader peer, Func<int, (string Withdrawal, string Transfer)> instances)
    {
        var memberId = await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == trader.Subject).Select(m => m.Id).SingleAsync());
        var accepted = new List<string>();
        for (var round = 1; round <= Rounds; round++)
        {
            await trader.CreditAsync("1");
            var (withdrawalUrl, transferUrl) = instances(round);
            // Each way of starting for each pair of rounds, so on two instances each way round.
            var start = StartFor(round / 2);
            var (withdrawal, transfer) = await RaceAsync(
                () => trader.SendAsync(withdrawalUrl + "/api/withdrawals", new { asset = "ETH", amount = "1", address = ExchangeFixture.NewAddress() }),
                () => trader.SendAsync(transferUrl + "/api/transfers", new { asset = "ETH", amount = "1", to = peer.Subject }),
                // Held, the balance's row: both wait for it, or one behind the other's lock on the member taken before it.
                start, $"SELECT 1 FROM balances WHERE member_id = '{memberId}' AND asset = 'ETH' FOR UPDATE");
            using (withdrawal)
            using (transfer)
            {
                var answers = new[] { ("withdrawal", withdrawal, await withdrawal.Content.ReadAsStringAsync()), ("transfer", transfer, await transfer.Content.ReadAsStringAsync()) };
                var report = string.Join("; ", answers.Select(a => $"{a.Item1} {(int)a.Item2.StatusCode} {a.Item3}"));
                Assert.True(answers.Count(a => a.Item2.StatusCode == HttpStatusCode.Accepted) == 1, $"round {round}: {report}");
                var (won, _, _) = answers.Single(a => a.Item2.StatusCode == HttpStatusCode.Accepted);
                var (_, _, refusal) = answers.Single(a => a.Item2.StatusCode != HttpStatusCode.Accepted);
                Assert.True(answers.Single(a => a.Item1 != won).Item2.StatusCode == HttpStatusCode.Conflict, $"round {round}: {report}");
                Assert.True(JsonNode.Parse(refusal)!["errors"]!.AsObject().ContainsKey("amount"), refusal);
                Assert.True(start != Start.FirstAhead || won == "withdrawal", $"round {round}, the withdrawal went first: {report}");
                Assert.True(start != Start.SecondAhead || won == "transfer", $"round {round}, the transfer went first: {report}");
                accepted.Add(won);
            }

            // All of it held by the one that won; nothing available, and never less than nothing.
            Assert.Equal(("0", round.ToString(CultureInfo.InvariantCulture)), await trader.BalanceAsync());
        }

        output.WriteLine($"{accepted.Count(a => a == "withdrawal")} of {Rounds} won by the withdrawal, {accepted.Count(a => a == "transfer")} by the transfer");
        // The refused left no request and no trace of one: one row and one audit event per accepted request.
        Assert.Equal(accepted.Count(a => a == "withdrawal"), await system.InScopeAsync((db, _) => db.Withdrawals.CountAsync(w => w.MemberId == memberId)));
        Assert.Equal(accepted.Count(a => a == "transfer"), await system.InScopeAsync((db, _) => db.Transfers.CountAsync(t => t.MemberId == memberId)));
        Assert.Equal(accepted.Count(a => a == "withdrawal"), await CountByActorAsync(trader, "withdrawal.requested"));
        Assert.Equal(accepted.Count(a => a == "transfer"), await CountByActorAsync(trader, "transfer.requested"));
        Assert.Equal(Rounds, await system.InScopeAsync((db, _) => db.JournalEntries.CountAsync(j => j.MemberId == memberId && j.Kind == Domain.Ledger.JournalKind.Hold)));
        await AssertInvariantsHoldAsync();
    }
}
