using System.Net;
using System.Numerics;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>A withdrawal from request to chain, and every way it can end before signing.</summary>
public sealed class WithdrawalFlowTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_tapped_withdrawal_is_signed_broadcast_and_confirmed_and_the_coins_arrive()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var destination = ExchangeFixture.NewAddress();

        using var response = await trader.WithdrawAsync("1.5", destination);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!;
        var id = accepted["id"]!.GetValue<Guid>();
        Assert.Equal("pending_approval", accepted["status"]!.GetValue<string>());
        // The first 19 and last 18 of the address's 40 hex digits fit beside "Withdraw 1.5 ETH to ", in its EIP-55 casing.
        Assert.Equal($"Withdraw 1.5 ETH to {destination[..21]}…{destination[^18..]}", accepted["challengeMessage"]!.GetValue<string>());
        Assert.Equal(("8.5", "1.5"), await trader.BalanceAsync());

        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(accepted["challengeMessage"]!.GetValue<string>(), challenge["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed");
        var txHash = confirmed["txHash"]!.GetValue<string>();
        Assert.Equal(1_500_000_000_000_000_000, (long)await system.Anvil.GetBalanceAsync(destination));
        Assert.NotNull(await system.Anvil.GetTransactionReceiptAsync(txHash));
        Assert.Equal(("8.5", "0"), await trader.BalanceAsync());
        Assert.Equal(
            ["pending_approval", "approved", "signed", "broadcast", "confirmed"],
            confirmed["history"]!.AsArray().Select(h => h!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_declined_withdrawal_releases_exactly_the_held_amount_and_sends_nothing()
    {
        var (trader, id, destination, vivoId) = await PendingWithdrawalAsync("2.25");
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId, "decline"));

        await trader.WaitForWithdrawalAsync(id, "declined");
        await AssertReleasedAsync(trader, destination);
    }

    [Fact]
    public async Task A_challenge_nobody_answers_expires_at_VivoKeys_timeout_and_releases_the_funds()
    {
        var (trader, id, destination, _) = await PendingWithdrawalAsync("1");
        // The simulator's clock passes the deadline: VivoKey calls back with "timeout".
        using (var advance = await system.Simulator.PostAsJsonAsync("/simulator/clock/advance", new { seconds = 61 }))
        {
            advance.EnsureSuccessStatusCode();
        }

        var expired = await trader.WaitForWithdrawalAsync(id, "expired");
        Assert.Contains("timeout", expired["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        await AssertReleasedAsync(trader, destination);
    }

    [Fact]
    public async Task A_tap_after_the_members_access_token_expired_is_issued_again_with_a_refreshed_token_and_approves()
    {
        var (trader, id, destination, vivoId) = await PendingWithdrawalAsync("3");
        var signedIn = await system.StoredTokensAsync(trader.Subject);
        using (var expire = await system.Simulator.PostAsync($"/simulator/members/{trader.Subject}/expire-tokens", null))
        {
            expire.EnsureSuccessStatusCode();
        }

        // VivoKey answers the tap token-expired; the refresh token still works, so the member is asked again, not locked out.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId));
        var again = await system.NewPendingChallengeAsync(trader.Subject, vivoId);
        Assert.Equal(signedIn.Generation + 1, (await system.StoredTokensAsync(trader.Subject)).Generation);
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "challenge.reissued"));

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(VivoKeyQueries.VivoId(again)));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(3 * ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(destination));
    }

    [Fact]
    public async Task A_tap_after_the_member_revoked_the_exchange_ends_as_token_expired_and_releases_the_funds()
    {
        var (trader, id, destination, vivoId) = await PendingWithdrawalAsync("3");
        using (var revoke = await system.Simulator.PostAsync($"/simulator/members/{trader.Subject}/revoke-tokens", null))
        {
            revoke.EnsureSuccessStatusCode();
        }

        // Token-expired, and no refresh can be had: the request ends and the member must sign in again.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId));
        await trader.WaitForWithdrawalAsync(id, "token_expired");
        await AssertReleasedAsync(trader, destination);

        // Until the member signs in again, no request can be challenged: refused up front, nothing held.
        using (var refused = await trader.WithdrawAsync("1", destination))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }

        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        await trader.SignInAsync();
        await trader.AcceptedWithdrawalAsync("1", destination);
    }

    [Fact]
    public async Task A_cancelled_withdrawal_releases_the_funds_and_a_later_tap_changes_nothing()
    {
        var (trader, id, destination, vivoId) = await PendingWithdrawalAsync("1.25");

        using var cancel = await trader.Http.PostAsync($"/api/withdrawals/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId));
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "callback.ignored"), n => n == 1, "the late tap to be recorded");
        Assert.Equal("cancelled", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        await AssertReleasedAsync(trader, destination);

        using var again = await trader.Http.PostAsync($"/api/withdrawals/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task A_lost_callback_is_ended_by_the_reconciler_after_the_deadline_and_grace()
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        await system.SimulatorFaultAsync(new { callback = "never" }, trader.Subject);
        var destination = ExchangeFixture.NewAddress();
        var id = await trader.AcceptedWithdrawalAsync("4", destination);
        var vivoId = (await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>();
        await WaitUntilAcceptedAsync(id);

        // The member taps, but VivoKey's callback never arrives.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId));

        // Before the deadline plus grace, the reconciler leaves it alone.
        await system.RunReconcilerAsync();
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());

        system.Clock.Advance(TimeSpan.FromSeconds(60 + 31));
        var report = await system.RunReconcilerAsync();
        Assert.True(report.Expired >= 1, report.ToString());
        Assert.Equal("expired", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        await AssertReleasedAsync(trader, destination);
    }

    private async Task<(Trader Trader, Guid Id, string Destination, string VivoId)> PendingWithdrawalAsync(string amount)
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var destination = ExchangeFixture.NewAddress();
        var id = await trader.AcceptedWithdrawalAsync(amount, destination);
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        await WaitUntilAcceptedAsync(id);
        return (trader, id, destination, challenge["vivo_id"]!.GetValue<string>());
    }

    /// <summary>The exchange has stored VivoKey's answer to the POST (the callback could still race it; these tests don't want that).</summary>
    private Task WaitUntilAcceptedAsync(Guid withdrawalId) =>
        Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawalId}", "challenge.accepted"), n => n == 1, "VivoKey to accept the challenge");

    private async Task AssertReleasedAsync(Trader trader, string destination)
    {
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.Equal(BigInteger.Zero, await system.Anvil.GetBalanceAsync(destination));
    }
}
