using System.Net;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

public sealed class VivoKeyFaultFixture : ExchangeFixture
{
    // A POST VivoKey holds open is given up after 3 s (10 by default) and sent again.
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["VivoKey:RequestTimeoutSeconds"] = "3";
}

/// <summary>VivoKey hanging on the POST, and a callback that comes after the exchange has given up on it.</summary>
public sealed class VivoKeyFaultTests(VivoKeyFaultFixture system) : IClassFixture<VivoKeyFaultFixture>
{
    [Fact]
    public async Task A_POST_VivoKey_never_answers_is_given_up_and_sent_again_and_the_tap_still_lands()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        await system.SimulatorFaultAsync(new { post = "hang", hangSeconds = 30 }, trader.Subject);

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject, 30);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.True(await system.CountAsync($"withdrawal:{id}", "challenge.send_failed") >= 1);
        Assert.Equal(("1", "0"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task A_success_that_arrives_after_the_reconciler_expired_the_request_changes_nothing()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        await system.SimulatorFaultAsync(new { callback = "late", lateSeconds = 600 }, trader.Subject);
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        // No callback by the deadline and the grace: the reconciler ends it and gives the funds back.
        system.Clock.Advance(TimeSpan.FromSeconds(60 + 30 + 1));
        await system.RunReconcilerAsync();
        Assert.Equal("expired", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("2", "0"), await trader.BalanceAsync());

        // Then VivoKey's success comes after all: recorded, ignored, nothing moves.
        using (var advance = await system.Simulator.PostAsJsonAsync("/simulator/clock/advance", new { seconds = 601 }))
        {
            advance.EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "callback.ignored"), n => n == 1, "the late callback to be ignored");
        Assert.Equal("expired", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "withdrawal.approved"));
    }
}
