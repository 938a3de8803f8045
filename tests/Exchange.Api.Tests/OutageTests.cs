using System.Net;
using Exchange.Api.Features.Operations;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>The exchange reaches anvil and VivoKey's Validation API through proxies the tests can make go dark.</summary>
public sealed class OutageFixture : ExchangeFixture
{
    public FlakyHttpProxy Node { get; private set; } = null!;
    public FlakyHttpProxy VivoKey { get; private set; } = null!;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        // Started here, once the real services' addresses are known and before the exchange is.
        Node = FlakyHttpProxy.StartAsync(Anvil.RpcUrl).GetAwaiter().GetResult();
        VivoKey = FlakyHttpProxy.StartAsync(SimulatorUrl).GetAwaiter().GetResult();
        exchange["Ethereum:RpcUrl"] = Node.Url;
        exchange["VivoKey:ValidationEndpoint"] = VivoKey.Url + "/v1.0/validate/";
    }
}

/// <summary>VivoKey down for a while, the node gone during the broadcast: nothing lost, nothing sent twice.</summary>
public sealed class OutageTests(OutageFixture system) : IClassFixture<OutageFixture>
{
    [Fact]
    public async Task While_VivoKey_is_down_the_challenge_is_retried_and_reaches_the_member_when_it_is_back()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        system.VivoKey.Refuse = _ => true;
        Guid id;
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
            await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "challenge.send_failed"), n => n >= 2, "two failed sends");
            Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
            Assert.Equal(("1", "1"), await trader.BalanceAsync());
        }
        finally
        {
            system.VivoKey.Refuse = null;
        }

        var challenge = await system.PendingChallengeAsync(trader.Subject, 30);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.True(system.VivoKey.Refused >= 2);
        await AssertInvariantsAsync();
    }

    [Fact]
    public async Task When_the_node_is_gone_at_the_broadcast_the_stored_bytes_go_out_once_it_is_back()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var to = ExchangeFixture.NewAddress();
        // The node answers everything but the broadcast: signing goes through, sending does not.
        system.Node.Refuse = body => body.Contains("eth_sendRawTransaction", StringComparison.Ordinal);
        Guid id;
        string signedHash;
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", to);
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
            await Poll.UntilAsync(() => Task.FromResult(system.Node.Refused), n => n >= 1, "a broadcast to find the node gone");
            var signed = await trader.WithdrawalAsync(id);
            Assert.Equal("signed", signed["status"]!.GetValue<string>());
            signedHash = signed["txHash"]!.GetValue<string>();
        }
        finally
        {
            system.Node.Refuse = null;
        }

        // The reconciler takes up what stayed signed; the same bytes go out, not a new signature.
        system.Clock.Advance(TimeSpan.FromSeconds(15));
        await system.RunReconcilerAsync();
        var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(signedHash, confirmed["txHash"]!.GetValue<string>());
        Assert.Equal(1, await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id)));
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        await AssertInvariantsAsync();
    }

    private async Task AssertInvariantsAsync()
    {
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }
}
