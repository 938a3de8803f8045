using System.Net;
using Exchange.Api.Features.Operations;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

/// <summary>The system with its log lines kept, trying an unsent transaction again every second.</summary>
public sealed class HotWalletFundsFixture : ExchangeFixture
{
    public CapturedLogs Logs { get; } = new();

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Ethereum:RebroadcastAfterSeconds"] = "1";

    protected override void ConfigureHost(WebApplicationBuilder builder) => builder.Logging.AddProvider(Logs);
}

/// <summary>The hot wallet cannot pay: the node refuses the broadcast, the withdrawal waits with its funds held, the operator is told once.</summary>
public sealed class HotWalletFundsTests(HotWalletFundsFixture system) : IClassFixture<HotWalletFundsFixture>
{
    private const string Underfunded = "withdrawal.hot_wallet_underfunded";

    [Fact]
    public async Task A_withdrawal_the_hot_wallet_cannot_pay_for_waits_held_is_reported_once_and_goes_out_once_funds_arrive()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var to = ExchangeFixture.NewAddress();
        var before = await Scrape.FromAsync(system.ManagementUrl);
        // Half an ether: less than the withdrawal's value, let alone its gas.
        await system.Anvil.SetBalanceAsync(system.HotWalletAddress, ExchangeFixture.Ether / 2);
        Guid id;
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", to);
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));

            await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", Underfunded), n => n > 0, "the refused broadcast to be audited");
            // Sent again, as the watcher does every second: still refused, and not audited again.
            for (var retry = 0; retry < 2; retry++)
            {
                await system.InScopeAsync(async (_, services) =>
                {
                    await services.GetRequiredService<Broadcast>().RunAsync(id, CancellationToken.None);
                    return true;
                });
            }

            var waiting = await trader.WithdrawalAsync(id);
            Assert.Equal("signed", waiting["status"]!.GetValue<string>());
            Assert.Equal(("2", "1"), await trader.BalanceAsync());
            Assert.Null(await system.Anvil.GetTransactionReceiptAsync(waiting["txHash"]!.GetValue<string>()));
            Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", Underfunded));
            var audited = await system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Subject == $"withdrawal:{id}" && a.Action == Underfunded).Select(a => a.Data).SingleAsync());
            Assert.Contains(system.HotWalletAddress, audited, StringComparison.OrdinalIgnoreCase);

            // The operator sees it: one warning naming the withdrawal and the hot wallet, and the chain errors counted by kind.
            var warnings = system.Logs.Lines.Where(l => l.Level == LogLevel.Warning && l.Message.Contains(id.ToString(), StringComparison.Ordinal)).ToList();
            Assert.Contains(system.HotWalletAddress, Assert.Single(warnings).Message, StringComparison.OrdinalIgnoreCase);
            await Poll.UntilAsync(() => Scrape.FromAsync(system.ManagementUrl),
                s => s.Sum("exchange_chain_errors_total", "kind=insufficient_funds") >= before.Sum("exchange_chain_errors_total", "kind=insufficient_funds") + 3,
                "the refusals to be counted at /metrics", seconds: 10);
        }
        finally
        {
            await system.Anvil.SetBalanceAsync(system.HotWalletAddress, 1000 * ExchangeFixture.Ether);
        }

        // Topped up: the next try sends it, and it lands once.
        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed", 60);
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", Underfunded));
        Assert.NotNull(await system.Anvil.GetTransactionReceiptAsync(confirmed["txHash"]!.GetValue<string>()));
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }
}
