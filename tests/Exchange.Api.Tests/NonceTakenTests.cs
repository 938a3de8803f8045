using System.Net;
using System.Globalization;
using System.Text.Json;
using Exchange.Api.Features.Operations;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>An anvil of its own whose blocks the test mines; three confirmations; no fee replacement, so every new transaction is a re-signing.</summary>
public sealed class NonceTakenFixture : ExchangeFixture
{
    protected override bool OwnsAnvil => true;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Ethereum:Confirmations"] = "3";
        exchange["Ethereum:ReplaceAfterSeconds"] = "0";
        exchange["Ethereum:RebroadcastAfterSeconds"] = "1";
    }
}

/// <summary>
/// The hot wallet's key sends a transaction the exchange did not, at a withdrawal's nonce: the withdrawal waits until
/// that block is at the confirmation depth, then is signed again at a fresh nonce, once, audited, and lands once.
/// </summary>
public sealed class NonceTakenTests(NonceTakenFixture system) : IClassFixture<NonceTakenFixture>
{
    private const string NonceTaken = "withdrawal.nonce_taken";

    [Fact]
    public async Task A_nonce_taken_by_a_foreign_transaction_is_signed_again_once_past_the_confirmation_depth_and_never_before()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        // The hot wallet has been in use: its nonce row exists, as on any running exchange.
        await WithdrawAndConfirmAsync(trader, ExchangeFixture.NewAddress());

        var to = ExchangeFixture.NewAddress();
        Guid id;
        string ours, foreign;
        long nonce;
        await system.Anvil.RpcAsync("evm_setAutomine", false);
        await system.Anvil.RpcAsync("evm_setIntervalMining", 0);
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", to);
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
            ours = (await trader.WaitForWithdrawalAsync(id, "broadcast"))["txHash"]!.GetValue<string>();
            nonce = (await TransactionsAsync(id)).Single().Nonce;

            // The key used outside the exchange, at the same nonce, paying more: it takes our transaction's place and is mined.
            foreign = await SendForeignAsync(nonce);
            await system.Anvil.MineAsync();
            Assert.NotNull(await system.Anvil.GetTransactionReceiptAsync(foreign));
            Assert.Null(await system.Anvil.GetTransactionReceiptAsync(ours));

            // One and two blocks deep (of three): a reorganisation could still bring ours back, so nothing is signed.
            for (var depth = 1; depth <= 2; depth++)
            {
                Assert.False(await ResignAsync(id));
                await NudgeAsync(id);
                var waiting = await trader.WithdrawalAsync(id);
                Assert.Equal("broadcast", waiting["status"]!.GetValue<string>());
                Assert.Equal(ours, waiting["txHash"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
                Assert.Single(await TransactionsAsync(id));
                Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", NonceTaken));
                if (depth < 2)
                {
                    await system.Anvil.MineAsync();
                }
            }

            // Three deep: signed again at a fresh nonce, by the watcher.
            await system.Anvil.MineAsync();
            await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", NonceTaken), n => n > 0, "the taken nonce to be noticed and the withdrawal signed again");
        }
        finally
        {
            await system.Anvil.RpcAsync("evm_setIntervalMining", 1);
        }

        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
        var transactions = await TransactionsAsync(id);
        Assert.Equal(2, transactions.Count);
        Assert.Equal((nonce, ours), (transactions[0].Nonce, transactions[0].Hash));
        var resigned = transactions[1];
        Assert.NotEqual(nonce, resigned.Nonce);
        Assert.Equal(resigned.Hash, confirmed["txHash"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        Assert.Null(await system.Anvil.GetTransactionReceiptAsync(ours));
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        Assert.Equal(("1", "0"), await trader.BalanceAsync());

        // Audited once, with the old nonce, the other transaction and the new nonce and hash; more passes change nothing.
        Assert.False(await ResignAsync(id));
        await NudgeAsync(id);
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", NonceTaken));
        Assert.Equal(2, (await TransactionsAsync(id)).Count);
        var audited = JsonDocument.Parse(await system.InScopeAsync((db, _) =>
            db.AuditEvents.Where(a => a.Subject == $"withdrawal:{id}" && a.Action == NonceTaken).Select(a => a.Data).SingleAsync())).RootElement;
        Assert.Equal(nonce, audited.GetProperty("nonce").GetInt64());
        Assert.Equal(resigned.Nonce, audited.GetProperty("newNonce").GetInt64());
        Assert.Equal(resigned.Hash, audited.GetProperty("hash").GetString(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(ours, audited.GetProperty("previous").GetString(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(foreign, audited.GetProperty("takenBy").GetString(), StringComparer.OrdinalIgnoreCase);
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }

    private async Task WithdrawAndConfirmAsync(Trader trader, string to)
    {
        var id = await trader.AcceptedWithdrawalAsync("1", to);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
    }

    /// <summary>
    /// A transfer from the hot wallet the exchange knows nothing of (anvil lets the test send as the account), at
    /// <paramref name="nonce"/>, with fees far above the exchange's so it replaces ours in the pool, whichever arrives last.
    /// </summary>
    private async Task<string> SendForeignAsync(long nonce)
    {
        await system.Anvil.RpcAsync("anvil_impersonateAccount", system.HotWalletAddress);
        try
        {
            return (await system.Anvil.RpcAsync("eth_sendTransaction", new Dictionary<string, string>
            {
                ["from"] = system.HotWalletAddress,
                ["to"] = ExchangeFixture.NewAddress(),
                ["value"] = "0x1",
                ["gas"] = "0x5208",
                ["nonce"] = "0x" + nonce.ToString("x", CultureInfo.InvariantCulture),
                ["maxFeePerGas"] = "0x" + 100_000_000_000L.ToString("x", CultureInfo.InvariantCulture),
                ["maxPriorityFeePerGas"] = "0x" + 50_000_000_000L.ToString("x", CultureInfo.InvariantCulture),
            }))!.GetValue<string>();
        }
        finally
        {
            await system.Anvil.RpcAsync("anvil_stopImpersonatingAccount", system.HotWalletAddress);
        }
    }

    /// <summary>The check itself, whatever the watcher is doing: true if it signed the withdrawal again.</summary>
    private Task<bool> ResignAsync(Guid id) =>
        system.InScopeAsync((_, services) => services.GetRequiredService<ResignTakenNonce>().RunAsync(id, CancellationToken.None));

    /// <summary>One pass of what the watcher runs for an unmined withdrawal (skipped if the watcher is on it now).</summary>
    private Task NudgeAsync(Guid id) => system.InScopeAsync(async (_, services) =>
    {
        await services.GetRequiredService<NudgeWithdrawal>().RunAsync(id, CancellationToken.None);
        return true;
    });

    private Task<List<WithdrawalTransaction>> TransactionsAsync(Guid id) =>
        system.InScopeAsync((db, _) => db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == id).OrderBy(t => t.Id).ToListAsync());
}
