using System.Net;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>An exchange that waits for three blocks before it calls a withdrawal confirmed.</summary>
public sealed class ThreeConfirmationsFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Ethereum:Confirmations"] = "3";
}

public sealed class ConfirmationDepthTests(ThreeConfirmationsFixture system) : IClassFixture<ThreeConfirmationsFixture>
{
    [Fact]
    public async Task A_withdrawal_is_confirmed_only_once_its_block_is_deep_enough()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        // On the way, the trader sees it mined but not yet deep enough.
        var shallow = await trader.WaitForWithdrawalAsync(id, "broadcast");
        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed");

        Assert.True(confirmed["confirmations"]!.GetValue<int>() >= 3, confirmed.ToJsonString());
        var receipt = await system.Anvil.GetTransactionReceiptAsync(confirmed["txHash"]!.GetValue<string>());
        var minedIn = Convert.ToInt64(receipt!["blockNumber"]!.GetValue<string>(), 16);
        Assert.True(await system.Anvil.GetBlockNumberAsync() >= minedIn + 2);
        Assert.Equal("broadcast", shallow["status"]!.GetValue<string>());
    }
}
