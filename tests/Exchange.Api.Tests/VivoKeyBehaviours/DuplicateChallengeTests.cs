using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>VivoKey does not de-duplicate ids: a resent id opens a second challenge with another vivo_id.</summary>
public sealed class NoDeduplicationFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:DeduplicateIds"] = "false";
}

public sealed class DuplicateChallengeTests(NoDeduplicationFixture system) : IClassFixture<NoDeduplicationFixture>
{
    [Fact]
    public async Task The_challenge_whose_answer_was_lost_decides_when_tapped_first_and_the_other_is_refused_409()
    {
        var (trader, id, lost, answered) = await TwoChallengesForOneIdAsync();

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(lost)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(answered)));

        Assert.Equal([409], await system.CallbackAnswersAsync(VivoKeyQueries.VivoId(answered), 1));
        await AssertDecidedOnceAsync(trader, id, decidedBy: lost);
    }

    [Fact]
    public async Task The_challenge_whose_answer_came_decides_when_tapped_first_and_the_other_is_refused_409()
    {
        var (trader, id, lost, answered) = await TwoChallengesForOneIdAsync();

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(answered)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(lost), "decline"));

        Assert.Equal([409], await system.CallbackAnswersAsync(VivoKeyQueries.VivoId(lost), 1));
        await AssertDecidedOnceAsync(trader, id, decidedBy: answered);
    }

    /// <summary>
    /// The first POST opens a challenge but its answer is lost (502); the exchange resends the same id, and VivoKey
    /// opens a second one. Both are on the member's phone.
    /// </summary>
    private async Task<(Trader Trader, Guid Id, JsonObject Lost, JsonObject Answered)> TwoChallengesForOneIdAsync()
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        await system.SimulatorFaultAsync(new { post = "answer_lost" }, trader.Subject);
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var pending = await Poll.UntilAsync(() => system.PendingChallengesAsync(trader.Subject), list => list.Count == 2, "two challenges for one id");
        Assert.Equal(VivoKeyQueries.Id(pending[0]), VivoKeyQueries.Id(pending[1]));
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "challenge.accepted"), n => n == 1, "the second POST's answer to be stored");

        var recorded = await system.InScopeAsync((db, _) => db.Challenges.Where(c => c.RequestId == id).Select(c => c.VivoIds).SingleAsync());
        var answered = Assert.Single(pending, c => recorded.Contains(VivoKeyQueries.VivoId(c)));
        var lost = Assert.Single(pending, c => !recorded.Contains(VivoKeyQueries.VivoId(c)));
        return (trader, id, lost, answered);
    }

    private async Task AssertDecidedOnceAsync(Trader trader, Guid id, JsonObject decidedBy)
    {
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "callback.already_decided"));
        Assert.Equal(("9", "0"), await trader.BalanceAsync());
        var (vivoId, transactions) = await system.InScopeAsync(async (db, _) => (
            await db.Challenges.Where(c => c.RequestId == id).Select(c => c.VivoId).SingleAsync(),
            await db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id)));
        Assert.Equal(VivoKeyQueries.VivoId(decidedBy), vivoId);
        Assert.Equal(1, transactions);
        trader.Dispose();
    }
}
