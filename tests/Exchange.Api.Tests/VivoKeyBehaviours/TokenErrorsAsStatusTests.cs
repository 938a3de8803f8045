using System.Net;
using Exchange.Api.Tests.Support;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>VivoKey answers a bad token with a bare 401 or 403 (empty or HTML body), as an OAuth server in front of it would.</summary>
public sealed class TokenErrorsAsStatusFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:Faults:TokenErrorsAsStatus"] = "true";
}

public sealed class TokenErrorsAsStatusTests(TokenErrorsAsStatusFixture system) : IClassFixture<TokenErrorsAsStatusFixture>
{
    [Fact]
    public async Task A_bare_401_for_an_expired_token_is_answered_by_one_refresh_and_a_resend_not_by_retries()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StoredTokensAsync(trader.Subject);
        // VivoKey's clock says the access token is over; the exchange's does not know it yet.
        await system.SimulatorAsync($"/simulator/members/{trader.Subject}/expire-tokens");

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.NewPendingChallengeAsync(trader.Subject);

        var after = await system.StoredTokensAsync(trader.Subject);
        Assert.Equal(before.Generation + 1, after.Generation);
        Assert.False(after.Unusable);
        // Sent on the second POST of the first attempt: no retry was scheduled, nothing failed.
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "challenge.send_failed"));
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(challenge)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
    }

    [Fact]
    public async Task A_bare_403_for_a_revoked_token_whose_refresh_fails_ends_the_request_token_expired_at_once()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        // The member revoked the exchange in VivoKey: the access and the refresh token are both dead.
        await system.SimulatorAsync($"/simulator/members/{trader.Subject}/revoke-tokens");

        var destination = ExchangeFixture.NewAddress();
        var id = await trader.AcceptedWithdrawalAsync("4", destination);
        var ended = await trader.WaitForWithdrawalAsync(id, "token_expired");
        Assert.Contains("sign in again", ended["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.True((await system.StoredTokensAsync(trader.Subject)).Unusable);
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "challenge.send_failed"));
        var refusal = Assert.Single(await system.AuditDataAsync($"withdrawal:{id}", "challenge.refused"));
        Assert.Contains("403", refusal, StringComparison.Ordinal);
        Assert.Empty(await system.PendingChallengesAsync(trader.Subject));

        // Nothing more is held for this member until they sign in again.
        using (var refused = await trader.WithdrawAsync("1", destination))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }

        await trader.SignInAsync();
        await trader.AcceptedWithdrawalAsync("1", destination);
        await system.NewPendingChallengeAsync(trader.Subject);
    }
}

/// <summary>The simulator has this exchange's callback URL registered as another: every challenge POST is refused with 400.</summary>
public sealed class RefusedChallengeFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:Clients:0:CallbackUrls:0"] = "http://127.0.0.1:9/not-the-exchange";
}

public sealed class RefusedChallengeTests(RefusedChallengeFixture system) : IClassFixture<RefusedChallengeFixture>
{
    [Fact]
    public async Task Another_4xx_is_a_refusal_ended_at_once_with_its_body_kept_for_the_operator()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var id = await trader.AcceptedWithdrawalAsync("3", ExchangeFixture.NewAddress());

        var ended = await trader.WaitForWithdrawalAsync(id, "rejected");
        Assert.Contains("invalid-callback", ended["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "challenge.send_failed"));
        var refusal = Assert.Single(await system.AuditDataAsync($"withdrawal:{id}", "challenge.refused"));
        Assert.Contains("400", refusal, StringComparison.Ordinal);
        Assert.Contains("callback must be one of the callback URLs registered", refusal, StringComparison.Ordinal);
        // A refusal is about the challenge, not the member: their token is still good.
        Assert.False((await system.StoredTokensAsync(trader.Subject)).Unusable);
    }
}
