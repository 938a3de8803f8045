using System.Net;
using System.Numerics;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>Sending the challenge: VivoKey refusing it, failing, or hanging.</summary>
public sealed class ChallengeSendingTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_5xx_from_VivoKey_is_retried_and_the_challenge_still_reaches_the_member()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        await system.SimulatorFaultAsync(new { post = "error503" }, trader.Subject);

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());

        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "challenge.send_failed"));
    }

    [Fact]
    public async Task The_members_identity_and_roles_come_from_VivoKey_and_configuration()
    {
        using var trader = await system.NewTraderAsync("Ada Trader");
        var me = (await trader.Http.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/api/me"))!;
        Assert.Equal(trader.Subject, me["subject"]!.GetValue<string>());
        Assert.Equal("Ada Trader", me["name"]!.GetValue<string>());
        Assert.Equal(trader.Email, me["email"]!.GetValue<string>());
        Assert.Equal(["trader"], me["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
    }
}

/// <summary>An exchange whose callback URL VivoKey does not have on file: every challenge is refused.</summary>
public sealed class UnregisteredCallbackFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) =>
        exchange["VivoKey:CallbackUrl"] = ExchangeUrl + "/not-registered/callback";
}

public sealed class RefusedChallengeTests(UnregisteredCallbackFixture system) : IClassFixture<UnregisteredCallbackFixture>
{
    [Fact]
    public async Task A_challenge_VivoKey_refuses_ends_as_rejected_and_releases_the_funds()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var destination = ExchangeFixture.NewAddress();

        var id = await trader.AcceptedWithdrawalAsync("6", destination);

        var rejected = await trader.WaitForWithdrawalAsync(id, "rejected");
        Assert.Contains("invalid-callback", rejected["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.Equal(BigInteger.Zero, await system.Anvil.GetBalanceAsync(destination));
    }
}

/// <summary>VivoKey's access tokens outlive sign-in by 30 s only here, less than a challenge's 60 s.</summary>
public sealed class ShortTokenFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:AccessTokenLifetimeSeconds"] = "30";
}

public sealed class TokenRefreshTests(ShortTokenFixture system) : IClassFixture<ShortTokenFixture>
{
    [Fact]
    public async Task A_token_that_would_expire_before_the_deadline_is_refreshed_before_the_challenge_is_sent()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var before = await StoredTokenAsync(trader.Subject);

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);

        // The stored token was replaced before the challenge went out (it is only written at sign-in and on refresh).
        Assert.NotEqual(before, await StoredTokenAsync(trader.Subject));
        // The refreshed token works to the end: the tap approves, no token-expired.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
    }

    private Task<string> StoredTokenAsync(string subject) =>
        system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == subject)
            .Join(db.MemberTokens, m => m.Id, t => t.MemberId, (m, t) => t.ProtectedAccessToken)
            .SingleAsync());
}
