using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>VivoKey revokes the previous access and refresh tokens at each refresh, as some OAuth servers do.</summary>
public sealed class RefreshRevokesPreviousFixture : ExchangeFixture
{
    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
        simulator["Simulator:RefreshRevokesPrevious"] = "true";

    /// <summary>Five minutes to tap: a challenge is issued again only with VivoKey's shortest timeout (30 s) still ahead.</summary>
    protected override void Configure(IDictionary<string, string?> exchange) =>
        exchange["VivoKey:ChallengeTimeoutSeconds"] = "300";
}

public sealed class RefreshRevokesPreviousTests(RefreshRevokesPreviousFixture system) : IClassFixture<RefreshRevokesPreviousFixture>
{
    [Fact]
    public async Task A_challenge_whose_token_a_later_refresh_revoked_is_issued_again_and_the_member_is_not_locked_out()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var first = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var firstChallenge = await system.NewPendingChallengeAsync(trader.Subject);
        var signedIn = await system.StoredTokensAsync(trader.Subject);

        // Time passes: the token no longer lasts a whole challenge, so the second request's send refreshes it, and
        // VivoKey revokes the token the first challenge was sent with.
        await system.ShortenStoredTokenAsync(trader.Subject, 20);
        var second = await trader.AcceptedWithdrawalAsync("2", ExchangeFixture.NewAddress());
        var secondChallenge = await system.NewPendingChallengeAsync(trader.Subject, VivoKeyQueries.VivoId(firstChallenge));
        Assert.Equal(signedIn.Generation + 1, (await system.StoredTokensAsync(trader.Subject)).Generation);

        // The member taps the first: VivoKey calls it token-expired. The exchange issues it again with the new token.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(firstChallenge)));
        var reissued = await system.NewPendingChallengeAsync(trader.Subject, VivoKeyQueries.VivoId(firstChallenge), VivoKeyQueries.VivoId(secondChallenge));
        Assert.NotEqual(VivoKeyQueries.Id(firstChallenge), VivoKeyQueries.Id(reissued));
        Assert.Equal(1, await system.CountAsync($"withdrawal:{first}", "challenge.reissued"));
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(first))["status"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(reissued)));
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(secondChallenge)));
        await trader.WaitForWithdrawalAsync(first, "confirmed");
        await trader.WaitForWithdrawalAsync(second, "confirmed");
        var tokens = await system.StoredTokensAsync(trader.Subject);
        Assert.False(tokens.Unusable);
        // The re-issue used the token the second send had refreshed: no refresh of its own, which would have revoked that one.
        Assert.Equal(signedIn.Generation + 1, tokens.Generation);
        Assert.Equal(("7", "0"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task A_success_replayed_for_the_retired_id_changes_nothing_and_is_answered_409()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var old = await system.NewPendingChallengeAsync(trader.Subject);
        await system.SimulatorAsync($"/simulator/members/{trader.Subject}/expire-tokens");
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(old)));
        var reissued = await system.NewPendingChallengeAsync(trader.Subject, VivoKeyQueries.VivoId(old));

        // Whoever holds the old id (it travelled to VivoKey and back) cannot approve with it now.
        using var replay = await system.Simulator.PostAsJsonAsync(system.ExchangeUrl + "/vivokey/callback",
            new JsonObject { ["success"] = true, ["id"] = VivoKeyQueries.Id(old), ["vivo_id"] = VivoKeyQueries.VivoId(old) });
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        Assert.Equal(1, await system.CountAsync($"challenge:{await ChallengeIdAsync(id)}", "callback.retired_id"));
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());

        // The retired id stays on record: nobody with the database can make it live again by removing it.
        var removal = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => Sql.ExecuteAsync(system.ConnectionString, "DELETE FROM retired_challenge_ids"));
        Assert.Contains("a retired challenge id is kept", removal.MessageText, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(reissued)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
    }

    [Fact]
    public async Task Sends_that_all_need_a_refresh_at_once_refresh_once_so_none_revokes_another()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var signedIn = await system.StoredTokensAsync(trader.Subject);
        await system.ShortenStoredTokenAsync(trader.Subject, 20);

        var requests = await Task.WhenAll(Enumerable.Range(1, 4).Select(_ => trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress())));
        var pending = await Poll.UntilAsync(() => system.PendingChallengesAsync(trader.Subject), list => list.Count == 4, "four pending challenges");

        Assert.Equal(signedIn.Generation + 1, (await system.StoredTokensAsync(trader.Subject)).Generation);
        foreach (var challenge in pending)
        {
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(challenge)));
        }

        foreach (var id in requests)
        {
            await trader.WaitForWithdrawalAsync(id, "confirmed");
            Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "challenge.reissued"));
        }
    }

    private Task<Guid> ChallengeIdAsync(Guid requestId) =>
        system.InScopeAsync((db, _) => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(
            db.Challenges.Where(c => c.RequestId == requestId).Select(c => c.Id)));
}
