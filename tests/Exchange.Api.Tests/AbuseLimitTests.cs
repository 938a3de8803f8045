using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>The limits as shipped: every test fixture raises them, this one puts the code's defaults back.</summary>
public class RealLimitsFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange)
    {
        foreach (var key in exchange.Keys.Where(k => k.StartsWith("RateLimits:", StringComparison.Ordinal)
            || k is "Exchange:MaxPendingPerMember" || k.StartsWith("Exchange:MinimumWithdrawal:", StringComparison.Ordinal)).ToList())
        {
            exchange.Remove(key);
        }
    }
}

/// <summary>
/// Rate limits, the cap on requests awaiting approval, and the minimum withdrawal, at their defaults (30 money
/// requests a minute per member, 5 awaiting, 0.001 ETH). Each test uses members of its own; the limits' windows
/// last a minute, and limit + 1 requests in a row always meet them, whenever the run starts.
/// </summary>
public sealed class AbuseLimitTests(RealLimitsFixture system) : IClassFixture<RealLimitsFixture>
{
    [Fact]
    public async Task The_thirty_first_money_request_in_a_minute_gets_429_with_Retry_After_and_moves_nothing()
    {
        using var trader = await system.NewTraderAsync();
        for (var i = 1; i <= 30; i++)
        {
            await trader.CreditAsync("1");
        }

        using var refused = await trader.SendAsync("/api/dev/credit", new { asset = "ETH", amount = "1" });

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 60);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(429, problem["status"]!.GetValue<int>());
        using (var withdrawal = await trader.WithdrawAsync("1", ExchangeFixture.NewAddress()))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, withdrawal.StatusCode);
        }

        Assert.Equal(("30", "0"), await trader.BalanceAsync());
        Assert.Equal(30, await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == "member:" + trader.Subject && e.Action == "balance.dev_credit")));
        Assert.Equal(0, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());

        // Per member: another member at the same address is not held back.
        using var neighbour = await system.NewTraderAsync();
        await neighbour.CreditAsync("1");
        Assert.Equal(("1", "0"), await neighbour.BalanceAsync());
    }

    [Fact]
    public async Task A_sixth_request_awaiting_approval_is_refused_with_409_and_nothing_held()
    {
        using var trader = await system.NewTraderAsync();
        using var peer = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        for (var i = 0; i < 3; i++)
        {
            await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        }

        for (var i = 0; i < 2; i++)
        {
            using var transfer = await trader.TransferAsync("1", peer.Subject);
            Assert.Equal(HttpStatusCode.Accepted, transfer.StatusCode);
        }

        using var sixth = await trader.WithdrawAsync("1", ExchangeFixture.NewAddress());
        using var sixthTransfer = await trader.TransferAsync("1", peer.Subject);

        foreach (var refused in new[] { sixth, sixthTransfer })
        {
            var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.True(refused.StatusCode == HttpStatusCode.Conflict, problem.ToJsonString());
            Assert.Contains("waiting for approval", problem["title"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(("5", "5"), await trader.BalanceAsync());
        Assert.Equal(3, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
        Assert.Equal(5, await system.InScopeAsync((db, _) =>
            db.Members.Where(m => m.Subject == trader.Subject).Join(db.Challenges, m => m.Id, c => c.MemberId, (m, c) => c).CountAsync()));

        // Cancelling one makes room for one.
        var page = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!;
        var first = page["items"]![0]!["id"]!.GetValue<Guid>();
        using (var cancel = await trader.SendAsync($"/api/withdrawals/{first}/cancel", new { }))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(("5", "5"), await trader.BalanceAsync());
    }

    [Theory]
    [InlineData("0.000999999999999999")]
    [InlineData("0.0001")]
    public async Task A_withdrawal_under_the_minimum_is_refused_with_422_naming_the_amount_and_nothing_held(string amount)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        var address = ExchangeFixture.NewAddress();

        using var response = await trader.WithdrawAsync(amount, address);
        using var preview = await trader.Http.GetAsync($"/api/withdrawals/preview?asset=ETH&amount={amount}&address={address}");

        foreach (var refused in new[] { response, preview })
        {
            var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.True(refused.StatusCode == HttpStatusCode.UnprocessableEntity, problem.ToJsonString());
            Assert.Contains("0.001", problem["errors"]!["amount"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(("1", "0"), await trader.BalanceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == "member:" + trader.Subject && e.Action == "withdrawal.requested")));

        // The minimum itself is accepted.
        await trader.AcceptedWithdrawalAsync("0.001", address);
        Assert.Equal(("0.999", "0.001"), await trader.BalanceAsync());
    }
}

/// <summary>The per-address limits: sign-in at its default (20 steps a minute), money lowered so two members reach it.</summary>
public sealed class AddressLimitFixture : RealLimitsFixture
{
    protected override void Configure(IDictionary<string, string?> exchange)
    {
        base.Configure(exchange);
        exchange["RateLimits:MoneyPerAddressPerMinute"] = "40";
    }
}

/// <summary>Every test client comes from 127.0.0.1: one address, several members.</summary>
public sealed class AddressLimitTests(AddressLimitFixture system) : IClassFixture<AddressLimitFixture>
{
    [Fact]
    public async Task One_address_is_limited_across_members_then_its_sign_ins_are_too()
    {
        using var first = await system.NewTraderAsync();
        using var second = await system.NewTraderAsync();
        for (var i = 0; i < 30; i++)
        {
            await first.CreditAsync("1");
        }

        for (var i = 0; i < 10; i++)
        {
            await second.CreditAsync("1");
        }

        // The second member has made ten requests of their thirty, but the address has made forty of its forty.
        using var refused = await second.SendAsync("/api/dev/credit", new { asset = "ETH", amount = "1" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal(("10", "0"), await second.BalanceAsync());

        // Two sign-ins took four steps; sixteen more are allowed, and the next is refused. A trailing slash or another
        // letter case reaches the same endpoint, so it counts the same.
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(system.ExchangeUrl) };
        var statuses = new List<HttpStatusCode>();
        string[] spellings = ["/login", "/login/", "/Login/"];
        for (var i = 0; i < 17; i++)
        {
            using var login = await anonymous.GetAsync(spellings[i % spellings.Length] + "?returnUrl=/");
            statuses.Add(login.StatusCode);
        }

        Assert.All(statuses[..16], s => Assert.Equal(HttpStatusCode.Redirect, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[16]);
        using var callback = await anonymous.PostAsync("/signin-oidc", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.TooManyRequests, callback.StatusCode);
        Assert.NotNull(callback.Headers.RetryAfter?.Delta);
    }
}
