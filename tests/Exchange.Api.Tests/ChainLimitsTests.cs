using System.Globalization;
using System.Net;
using System.Numerics;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>
/// An anvil of its own whose blocks the tests make one at a time; three confirmations; a fee ceiling of 3 gwei
/// below what the node's quote asks (a 5 gwei tip); replacements after a minute of the exchange's clock.
/// </summary>
public sealed class ChainLimitsFixture : ExchangeFixture
{
    public static readonly BigInteger Ceiling = 3_000_000_000;

    protected override bool OwnsAnvil => true;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Ethereum:Confirmations"] = "3";
        exchange["Ethereum:MaxFeePerGasGwei"] = "3";
        exchange["Ethereum:MaxPriorityFeePerGasWei"] = "5000000000";
        exchange["Ethereum:ReplaceAfterSeconds"] = "60";
    }
}

/// <summary>A revert waits for the confirmation depth like a success; no signature ever passes the fee ceiling.</summary>
public sealed class ChainLimitsTests(ChainLimitsFixture system) : IClassFixture<ChainLimitsFixture>
{
    [Fact]
    public async Task A_reverted_transaction_releases_the_funds_only_once_its_receipt_is_deep_enough()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        // A destination whose code reverts whatever it receives.
        var to = ExchangeFixture.NewAddress();
        await system.Anvil.RpcAsync("anvil_setCode", to, "0x60006000fd");
        await StopMiningAsync();
        try
        {
            var id = await trader.AcceptedWithdrawalAsync("1", to);
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
            await trader.WaitForWithdrawalAsync(id, "broadcast");

            // One block: the revert is mined, one confirmation of three. A reorganisation could still drop it.
            await system.Anvil.MineAsync();
            var shallow = await Poll.UntilAsync(() => trader.WithdrawalAsync(id),
                w => w["status"]!.GetValue<string>() != "broadcast" || w["confirmations"]?.GetValue<int?>() == 1, "the revert seen one block deep");
            Assert.Equal("broadcast", shallow["status"]!.GetValue<string>());
            Assert.Equal(("1", "1"), await trader.BalanceAsync());
            Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "withdrawal.reverted_on_chain"));

            // Two more: three deep. Now it ends failed and the funds come back, once.
            await system.Anvil.MineAsync();
            await system.Anvil.MineAsync();
            var failed = await trader.WaitForWithdrawalAsync(id, "failed");
            Assert.Contains("reverted", failed["error"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(("2", "0"), await trader.BalanceAsync());
            Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.reverted_on_chain"));
        }
        finally
        {
            await ResumeMiningAsync();
        }
    }

    [Fact]
    public async Task Neither_the_signature_nor_a_replacement_passes_the_fee_ceiling()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var to = ExchangeFixture.NewAddress();
        await StopMiningAsync();
        Guid id;
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", to);
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
            var hash = (await trader.WaitForWithdrawalAsync(id, "broadcast"))["txHash"]!.GetValue<string>();

            // The node's quote asks for 2 × base fee + 5 gwei; the signed transaction says at most 3 gwei.
            var sent = (await system.Anvil.RpcAsync("eth_getTransactionByHash", hash))!;
            Assert.True(Hex(sent["maxFeePerGas"]!) <= ChainLimitsFixture.Ceiling, sent.ToJsonString());
            Assert.True(Hex(sent["maxPriorityFeePerGas"]!) <= Hex(sent["maxFeePerGas"]!), sent.ToJsonString());

            // Stuck past the replacement delay: the least replacement (13% more) would pass the ceiling, so none is made.
            system.Clock.Advance(TimeSpan.FromSeconds(61));
            await system.InScopeAsync(async (_, services) =>
            {
                await services.GetRequiredService<NudgeWithdrawal>().RunAsync(id, CancellationToken.None);
                return true;
            });
            var stored = await system.InScopeAsync((db, _) => db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == id).ToListAsync());
            Assert.Equal(hash, Assert.Single(stored).Hash);
            Assert.All(stored, t => Assert.True(BigInteger.Parse(t.MaxFeePerGas, CultureInfo.InvariantCulture) <= ChainLimitsFixture.Ceiling, t.MaxFeePerGas));
        }
        finally
        {
            await ResumeMiningAsync();
        }

        // At its current fees it is still mined, once the node makes blocks again.
        await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
        Assert.Equal(BigInteger.Pow(10, 18), await system.Anvil.GetBalanceAsync(to));
    }

    private static BigInteger Hex(System.Text.Json.Nodes.JsonNode value) =>
        BigInteger.Parse("0" + value.GetValue<string>()[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private async Task StopMiningAsync()
    {
        await system.Anvil.RpcAsync("evm_setAutomine", false);
        await system.Anvil.RpcAsync("evm_setIntervalMining", 0);
    }

    private Task ResumeMiningAsync() => system.Anvil.RpcAsync("evm_setIntervalMining", 1);
}
