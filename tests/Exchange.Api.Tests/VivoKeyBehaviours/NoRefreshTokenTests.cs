using System.Net;
using Exchange.Api.Tests.Support;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>VivoKey issues no refresh token at all (its documentation never mentions one).</summary>
public sealed class NoRefreshTokenFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:IssueRefreshTokens"] = "false";
}

public sealed class NoRefreshTokenTests(NoRefreshTokenFixture system) : IClassFixture<NoRefreshTokenFixture>
{
    [Fact]
    public async Task Requests_work_while_the_access_token_lasts()
    {
        using var trader = await system.NewTraderAsync();
        Assert.False((await system.StoredTokensAsync(trader.Subject)).HasRefreshToken);
        await trader.CreditAsync("10");

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.NewPendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(challenge)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
    }

    [Fact]
    public async Task A_token_that_ends_before_a_challenge_would_asks_the_member_to_sign_in_before_any_funds_are_held()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        // The access token ends in 20 s, a challenge lasts 60 s, and there is nothing to refresh it with.
        await system.ShortenStoredTokenAsync(trader.Subject, 20);

        using (var refused = await trader.WithdrawAsync("1", ExchangeFixture.NewAddress()))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("sign in again", await refused.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        using var receiver = await system.NewTraderAsync();
        using (var refused = await trader.TransferAsync("1", receiver.Handle))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }

        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.Empty(await system.PendingChallengesAsync(trader.Subject));

        await trader.SignInAsync();
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(await system.NewPendingChallengeAsync(trader.Subject))));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
    }

    [Fact]
    public async Task A_token_VivoKey_calls_expired_ends_the_request_token_expired_and_releases_the_funds()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        await system.SimulatorAsync($"/simulator/members/{trader.Subject}/expire-tokens");

        var id = await trader.AcceptedWithdrawalAsync("2", ExchangeFixture.NewAddress());
        await trader.WaitForWithdrawalAsync(id, "token_expired");
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.True((await system.StoredTokensAsync(trader.Subject)).Unusable);
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "challenge.send_failed"));
    }
}
