using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>Racing requests against one balance, and Idempotency-Key repeats.</summary>
public sealed class ConcurrencyTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task Twenty_parallel_one_ETH_withdrawals_against_ten_ETH_accept_exactly_ten()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => trader.WithdrawAsync("1", ExchangeFixture.NewAddress())));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        foreach (var response in responses)
        {
            response.Dispose();
        }

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(("0", "10"), await trader.BalanceAsync());
        var page = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals?pageSize=100"))!;
        Assert.Equal(10, page["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_same_Idempotency_Key_twice_makes_one_withdrawal_and_returns_the_first_answer()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var address = ExchangeFixture.NewAddress();
        var key = Guid.NewGuid().ToString();

        using var first = await trader.WithdrawAsync("2", address, idempotencyKey: key);
        using var second = await trader.WithdrawAsync("2", address, idempotencyKey: key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var a = (await first.Content.ReadFromJsonAsync<JsonObject>())!;
        var b = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(a["id"]!.GetValue<Guid>(), b["id"]!.GetValue<Guid>());
        Assert.Equal(("8", "2"), await trader.BalanceAsync());
        Assert.Equal(1, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Racing_requests_with_one_Idempotency_Key_make_one_withdrawal()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var address = ExchangeFixture.NewAddress();
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => trader.WithdrawAsync("1", address, idempotencyKey: key)));
        var ids = new HashSet<Guid>();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>());
            response.Dispose();
        }

        Assert.Single(ids);
        Assert.Equal(("9", "1"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task A_key_reused_on_another_endpoint_is_refused()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        using var peer = await system.NewTraderAsync();
        var key = Guid.NewGuid().ToString();

        using var withdrawal = await trader.WithdrawAsync("1", ExchangeFixture.NewAddress(), idempotencyKey: key);
        using var transfer = await trader.TransferAsync("1", peer.Subject, idempotencyKey: key);

        Assert.Equal(HttpStatusCode.Accepted, withdrawal.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, transfer.StatusCode);
        Assert.Equal(("9", "1"), await trader.BalanceAsync());
    }
}
