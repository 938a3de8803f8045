using System.Net;
using System.Numerics;
using Exchange.Api.Features.Operations;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nethereum.Model;

namespace Exchange.Api.Tests;

/// <summary>An anvil of its own, whose mining the tests stop and start; transactions unmined for 3 s are replaced.</summary>
public sealed class ChainFaultFixture : ExchangeFixture
{
    protected override bool OwnsAnvil => true;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Ethereum:ReplaceAfterSeconds"] = "3";
        exchange["Ethereum:Confirmations"] = "3";
        exchange["Ethereum:RebroadcastAfterSeconds"] = "2";
    }
}

/// <summary>The node does not mine, or forgets: the same bytes again, then a replacement with higher fees; one is mined, once.</summary>
public sealed class ChainFaultTests(ChainFaultFixture system) : IClassFixture<ChainFaultFixture>
{
    [Fact]
    public async Task An_unmined_transaction_is_replaced_with_bumped_fees_and_only_one_is_mined()
    {
        Guid id = default;
        await WithMiningStoppedAsync(async (trader, to) =>
        {
            (id, _) = await BroadcastWithdrawalAsync(trader, to);

            // Nothing is mined. Rather than wait Ethereum:ReplaceAfterSeconds of real time, the step runs on a clock already
            // past it until a replacement is stored (again only if the watcher was working on it: the step then skips it).
            await Poll.UntilAsync(async () =>
            {
                await NudgePastReplaceAfterAsync(id);
                return await TransactionsAsync(id);
            }, t => t.Count >= 2, "a replacement transaction", 30);
        });

        // Confirmed now, so nothing replaces it any more: every replacement is at the same nonce with both fees bumped
        // past the one before, each audited once, and (the helper above) only one of them mined.
        var transactions = await TransactionsAsync(id);
        Assert.True(transactions.Count >= 2, $"{transactions.Count} transactions");
        foreach (var (first, second) in transactions.Zip(transactions.Skip(1)))
        {
            Assert.Equal(first.Nonce, second.Nonce);
            Assert.NotEqual(first.Hash, second.Hash);
            Assert.True(BigInteger.Parse(second.MaxFeePerGas) * 100 >= BigInteger.Parse(first.MaxFeePerGas) * 113, $"{first.MaxFeePerGas} → {second.MaxFeePerGas}");
            Assert.True(BigInteger.Parse(second.MaxPriorityFeePerGas) * 100 >= BigInteger.Parse(first.MaxPriorityFeePerGas) * 113,
                $"{first.MaxPriorityFeePerGas} → {second.MaxPriorityFeePerGas}");
        }

        Assert.Equal(transactions.Count - 1, await system.CountAsync($"withdrawal:{id}", "withdrawal.transaction_replaced"));
    }

    /// <summary>
    /// The watcher's step (replace if stuck, send, look) run once by the test, its replacement judged on a clock
    /// Ethereum:ReplaceAfterSeconds ahead: the exchange's own clock is not moved, so no later test inherits an offset.
    /// </summary>
    private Task NudgePastReplaceAfterAsync(Guid id) => system.InScopeAsync(async (_, services) =>
    {
        var after = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<EthereumOptions>>().Value.ReplaceAfterSeconds + 1);
        var replace = ActivatorUtilities.CreateInstance<ReplaceStuck>(services, new AheadClock(system.Clock, after));
        await ActivatorUtilities.CreateInstance<NudgeWithdrawal>(services, replace).RunAsync(id, CancellationToken.None);
        return true;
    });

    private sealed class AheadClock(TimeProvider clock, TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => clock.GetUtcNow() + ahead;
    }

    [Fact]
    public async Task A_lost_transaction_before_a_later_one_is_sent_again_so_the_nonce_gap_is_filled_not_skipped()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var first = ExchangeFixture.NewAddress();
        var second = ExchangeFixture.NewAddress();
        await StopMiningAsync();
        try
        {
            var (_, lost) = await BroadcastWithdrawalAsync(trader, first);
            await BroadcastWithdrawalAsync(trader, second);

            // The node loses the earlier one: the later one cannot be mined until its nonce's gap is filled.
            await system.Anvil.RpcAsync("anvil_dropTransaction", lost);
        }
        finally
        {
            await ResumeMiningAsync();
        }

        await AssertMinedOnceAsync(trader, first);
        await AssertMinedOnceAsync(trader, second);
        var nonces = await system.InScopeAsync((db, _) => db.Withdrawals.Where(w => w.ToAddress == first || w.ToAddress == second)
            .OrderBy(w => w.Nonce).Select(w => w.Nonce!.Value).ToListAsync());
        Assert.Equal(nonces[0] + 1, nonces[1]);
    }

    [Fact]
    public async Task A_transaction_mined_but_reverted_ends_failed_and_the_funds_come_back()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        // A destination whose code reverts whatever it receives.
        var to = ExchangeFixture.NewAddress();
        await system.Anvil.RpcAsync("anvil_setCode", to, "0x60006000fd");

        var id = await trader.AcceptedWithdrawalAsync("1", to);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        var failed = await trader.WaitForWithdrawalAsync(id, "failed", 60);

        Assert.Contains("reverted", failed["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var receipt = (await system.Anvil.GetTransactionReceiptAsync(failed["txHash"]!.GetValue<string>()))!;
        Assert.Equal("0x0", receipt["status"]!.GetValue<string>());
        Assert.Equal(BigInteger.Zero, await system.Anvil.GetBalanceAsync(to));
        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.reverted_on_chain"));
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }

    [Fact]
    public async Task A_stuck_withdrawal_whose_destination_was_changed_is_never_replaced_and_is_audited_once_as_tampered()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var (to, attacker) = (ExchangeFixture.NewAddress(), ExchangeFixture.NewAddress());
        Guid id;
        List<string> before;
        await StopMiningAsync();
        try
        {
            (id, _) = await BroadcastWithdrawalAsync(trader, to);
            // The application's role, past the immutability trigger (the owner lifts it for this session), points the row elsewhere.
            await Sql.ExecuteAsync(system.OwnerConnectionString,
                $"SET session_replication_role = replica; UPDATE withdrawals SET to_address = '{attacker}' WHERE id = '{id}'");
            before = (await TransactionsAsync(id)).Select(t => t.Hash).ToList();

            // Unmined past Ethereum:ReplaceAfterSeconds: the watcher comes to replace it and finds the row is not what the hot wallet signed.
            await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "withdrawal.tampered"), n => n > 0, "the changed withdrawal to be audited as tampered", 30);
            // Past the delay already: every further pass comes back to the same check.
            for (var pass = 0; pass < 2; pass++)
            {
                await system.InScopeAsync(async (_, services) =>
                {
                    await services.GetRequiredService<NudgeWithdrawal>().RunAsync(id, CancellationToken.None);
                    return true;
                });
            }

            var stored = await TransactionsAsync(id);
            Assert.Equal(before, stored.Select(t => t.Hash));
            Assert.All(stored, t => Assert.Equal(to, ((Transaction1559)TransactionFactory.CreateTransaction(t.RawTransaction)).ReceiverAddress, StringComparer.OrdinalIgnoreCase));
            Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.tampered"));
            var audited = await system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Subject == $"withdrawal:{id}" && a.Action == "withdrawal.tampered").Select(a => a.Data).SingleAsync());
            Assert.Contains(SigningEvidence.PaysTheSame, audited, StringComparison.Ordinal);
            Assert.DoesNotContain(SigningEvidence.SignedByHotWallet, audited, StringComparison.Ordinal);
        }
        finally
        {
            await ResumeMiningAsync();
        }

        // The hot wallet's own transaction is still the one in force: mined at its nonce, it pays the tapped destination; the other gets nothing.
        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
        Assert.Contains(confirmed["txHash"]!.GetValue<string>(), before, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        Assert.Equal(BigInteger.Zero, await system.Anvil.GetBalanceAsync(attacker));
        Assert.Equal(before, (await TransactionsAsync(id)).Select(t => t.Hash));
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.tampered"));
    }

    /// <summary>A trader with 3 ETH and a fresh destination; the fault runs while nothing is mined; then the withdrawal must land once.</summary>
    private async Task WithMiningStoppedAsync(Func<Trader, string, Task> fault)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var to = ExchangeFixture.NewAddress();
        await StopMiningAsync();
        try
        {
            await fault(trader, to);
        }
        finally
        {
            await ResumeMiningAsync();
        }

        await AssertMinedOnceAsync(trader, to);
    }

    /// <summary>A withdrawal of 1 ETH, tapped, until the node has it; its id and hash.</summary>
    private async Task<(Guid Id, string Hash)> BroadcastWithdrawalAsync(Trader trader, string to)
    {
        var id = await trader.AcceptedWithdrawalAsync("1", to);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        var broadcast = await trader.WaitForWithdrawalAsync(id, "broadcast");
        return (id, broadcast["txHash"]!.GetValue<string>());
    }

    private async Task AssertMinedOnceAsync(Trader trader, string to)
    {
        var id = await system.InScopeAsync((db, _) => db.Withdrawals.Where(w => w.ToAddress == to).Select(w => w.Id).SingleAsync());
        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
        var mined = new List<string>();
        foreach (var t in await TransactionsAsync(id))
        {
            if (await system.Anvil.GetTransactionReceiptAsync(t.Hash) is { } receipt && receipt.GetValueKind() != System.Text.Json.JsonValueKind.Null)
            {
                mined.Add(t.Hash);
            }
        }

        Assert.Equal(confirmed["txHash"]!.GetValue<string>(), Assert.Single(mined), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }

    private Task<List<Exchange.Api.Infrastructure.Persistence.WithdrawalTransaction>> TransactionsAsync(Guid id) =>
        system.InScopeAsync((db, _) => db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == id).OrderBy(t => t.Id).ToListAsync());


    private async Task StopMiningAsync()
    {
        await system.Anvil.RpcAsync("evm_setAutomine", false);
        await system.Anvil.RpcAsync("evm_setIntervalMining", 0);
    }

    private Task ResumeMiningAsync() => system.Anvil.RpcAsync("evm_setIntervalMining", 1);
}
