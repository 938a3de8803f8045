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
        Assert.Equal($"Withdraw 1.5 ETH to {destination[..6]}…{destination[^4..]}", accepted["challengeMessage"]!.GetValue<string>());
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
}
