using System.Net;
using System.Text.Json;
using Exchange.Api.Features.Operations;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>
/// An anvil of its own, whose mining the tests stop and start, and no fee replacement within any test's
/// reach (Ethereum:ReplaceAfterSeconds an hour, the fixture clock never moved): only the stored bytes sent
/// again can get a withdrawal mined, so a test here cannot pass because a replacement did the work.
/// </summary>
public sealed class ChainResendFixture : ExchangeFixture
{
    protected override bool OwnsAnvil => true;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Ethereum:ReplaceAfterSeconds"] = "3600";
        exchange["Ethereum:Confirmations"] = "3";
        exchange["Ethereum:RebroadcastAfterSeconds"] = "2";
    }
}

/// <summary>The node forgets a transaction, or a block takes it back: the same signed bytes go out again and are mined, once.</summary>
public sealed class ChainResendTests(ChainResendFixture system) : IClassFixture<ChainResendFixture>
{
    [Fact]
    public async Task A_transaction_the_node_dropped_is_sent_again_as_the_same_bytes_and_mined_once()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var to = ExchangeFixture.NewAddress();
        Guid id;
        string signed;
        await StopMiningAsync();
        try
        {
            (id, signed) = await BroadcastWithdrawalAsync(trader, to);

            // The node forgets it; the exchange still has the bytes and the hash.
            await system.Anvil.RpcAsync("anvil_dropTransaction", signed);
            Assert.False(await NodeKnowsAsync(signed), "the node still has the dropped transaction");

            // Sent again: the node has that very transaction again, while nothing is mined.
            await Poll.UntilAsync(() => NodeKnowsAsync(signed), known => known, "the node to have the dropped transaction again", 30);
        }
        finally
        {
            await ResumeMiningAsync();
        }

        var confirmed = await AssertMinedOnceAsync(trader, id, to);
        Assert.Equal(signed, confirmed, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "withdrawal.transaction_replaced"));
    }

    [Fact]
    public async Task A_block_lost_to_a_reorganisation_before_the_depth_sends_the_same_transaction_again_and_it_lands_once()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var to = ExchangeFixture.NewAddress();
        Guid id;
        string signed;
        await StopMiningAsync();
        try
        {
            (id, signed) = await BroadcastWithdrawalAsync(trader, to);

            // Mined in one block, seen by the exchange (1 of 3 confirmations), then that block is taken back.
            var snapshot = (await system.Anvil.RpcAsync("evm_snapshot"))!.GetValue<string>();
            await system.Anvil.MineAsync();
            var seen = await Poll.UntilAsync(() => trader.WithdrawalAsync(id), w => w["confirmations"]?.GetValue<int?>() == 1, "the first confirmation to be seen");
            Assert.Equal(signed, seen["txHash"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
            Assert.True(await MinedAsync(signed), "the transaction was not in the mined block");
            Assert.True((await system.Anvil.RpcAsync("evm_revert", snapshot))!.GetValue<bool>());
            Assert.False(await MinedAsync(signed), "the block was not taken back");

            await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "withdrawal.reorged"), n => n == 1, "the exchange to notice the lost block");
            Assert.Equal("broadcast", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        }
        finally
        {
            await ResumeMiningAsync();
        }

        // The very transaction the lost block held is mined again: not a new one, not a replacement.
        var confirmed = await AssertMinedOnceAsync(trader, id, to);
        Assert.Equal(signed, confirmed, StringComparer.OrdinalIgnoreCase);
        var actions = await system.ActionsAsync($"withdrawal:{id}");
        Assert.Equal(1, actions.Count(a => a == "withdrawal.reorged"));
        Assert.Equal(1, actions.Count(a => a == "withdrawal.confirmed"));
        Assert.True(actions.IndexOf("withdrawal.reorged") < actions.IndexOf("withdrawal.confirmed"), string.Join(", ", actions));
        Assert.DoesNotContain("withdrawal.transaction_replaced", actions);
    }

    /// <summary>A withdrawal of 1 ETH, tapped, until the node has it; its id and the hash the hot wallet signed.</summary>
    private async Task<(Guid Id, string Hash)> BroadcastWithdrawalAsync(Trader trader, string to)
    {
        var id = await trader.AcceptedWithdrawalAsync("1", to);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        var broadcast = await trader.WaitForWithdrawalAsync(id, "broadcast");
        return (id, broadcast["txHash"]!.GetValue<string>());
    }

    /// <summary>
    /// Confirmed with exactly one signed transaction ever stored for it (nothing re-signed), that one mined,
    /// the amount at the destination once, the invariants holding; returns the confirmed hash.
    /// </summary>
    private async Task<string> AssertMinedOnceAsync(Trader trader, Guid id, string to)
    {
        var confirmed = (await trader.WaitForWithdrawalAsync(id, "confirmed", 60))["txHash"]!.GetValue<string>();
        var stored = Assert.Single(await system.InScopeAsync((db, _) => db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == id).ToListAsync()));
        Assert.Equal(stored.Hash, confirmed, StringComparer.OrdinalIgnoreCase);
        Assert.True(await MinedAsync(confirmed), $"{confirmed} has no receipt");
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
        return confirmed;
    }

    private async Task<bool> NodeKnowsAsync(string hash) =>
        await system.Anvil.RpcAsync("eth_getTransactionByHash", hash) is { } tx && tx.GetValueKind() != JsonValueKind.Null;

    private async Task<bool> MinedAsync(string hash) =>
        await system.Anvil.GetTransactionReceiptAsync(hash) is { } receipt && receipt.GetValueKind() != JsonValueKind.Null;

    private async Task StopMiningAsync()
    {
        await system.Anvil.RpcAsync("evm_setAutomine", false);
        await system.Anvil.RpcAsync("evm_setIntervalMining", 0);
    }

    private Task ResumeMiningAsync() => system.Anvil.RpcAsync("evm_setIntervalMining", 1);
}
