using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>Every bad input of API.md is refused with the field named, and nothing is held, created or sent.</summary>
public sealed class BadInputTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    private const string Valid = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public static TheoryData<string?, string?, string?, string> BadWithdrawals => new()
    {
        { "DOGE", "1", Valid, "asset" },
        { null, "1", Valid, "asset" },
        { "eth", "1", Valid, "asset" },
        { "ETH", "0", Valid, "amount" },
        { "ETH", "-1", Valid, "amount" },
        { "ETH", "0.0000000000000000001", Valid, "amount" },
        { "ETH", "1e3", Valid, "amount" },
        { "ETH", "one", Valid, "amount" },
        { "ETH", "", Valid, "amount" },
        { "ETH", null, Valid, "amount" },
        { "ETH", "1", "0x123", "address" },
        { "ETH", "1", "70997970C51812dc3A010C7d01b50e0d17dc79C8", "address" },
        { "ETH", "1", "0xZZ997970C51812dc3A010C7d01b50e0d17dc79C8", "address" },
        // One letter's case flipped: the EIP-55 checksum fails.
        { "ETH", "1", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "address" },
        { "ETH", "1", null, "address" },
    };

    [Theory]
    [MemberData(nameof(BadWithdrawals))]
    public async Task A_bad_withdrawal_is_refused_with_the_field_named_and_nothing_held(string? asset, string? amount, string? address, string field)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);

        using var response = await trader.SendAsync("/api/withdrawals", new { asset, amount, address });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var errors = problem["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), problem.ToJsonString());
        Assert.False(string.IsNullOrWhiteSpace(errors[field]![0]!.GetValue<string>()));
        await AssertNothingHappenedAsync(trader);
        await system.AssertOnlyRefusedAsync(trader, before, field: field);
    }

    [Fact]
    public async Task More_than_the_available_balance_is_refused_with_409_and_nothing_held()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);

        // Just over the balance (an amount of 21 characters or more would not fit the phone's message: see ChallengePreviewTests).
        using var response = await trader.WithdrawAsync("10.000000000000001", Valid);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(problem["errors"]!.AsObject().ContainsKey("amount"), problem.ToJsonString());
        await AssertNothingHappenedAsync(trader);
        await system.AssertOnlyRefusedAsync(trader, before, field: "amount");
    }

    [Fact]
    public async Task A_member_with_no_balance_at_all_is_refused_with_409()
    {
        using var trader = await system.NewTraderAsync();
        var before = await system.StateAsync(trader);
        using var response = await trader.WithdrawAsync("1", Valid);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(("0", "0"), before.Balance);
        await system.AssertOnlyRefusedAsync(trader, before, field: "amount");
    }

    [Fact]
    public async Task A_transfer_to_oneself_or_to_an_unknown_member_is_refused_with_the_field_named()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);
        var receivers = new[] { trader.Subject, trader.Handle, trader.Email, "nobody@example.test", "EX-0000-000O", "" };

        foreach (var to in receivers)
        {
            using var response = await trader.TransferAsync("1", to);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.True(problem["errors"]!.AsObject().ContainsKey("to"), problem.ToJsonString());
        }

        await AssertNothingHappenedAsync(trader);
        await system.AssertOnlyRefusedAsync(trader, before, refusals: receivers.Length, field: "to");
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_refused_with_400()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);
        using var content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        using var response = await trader.Http.PostAsync("/api/withdrawals", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await system.AssertOnlyRefusedAsync(trader, before);
    }

    [Fact]
    public async Task Without_a_session_the_API_answers_401_and_the_dashboard_is_closed()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(system.ExchangeUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/withdrawals", new { asset = "ETH", amount = "1", address = Valid })).StatusCode);
        using var dashboard = await anonymous.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.Redirect, dashboard.StatusCode);
        Assert.StartsWith("/login", dashboard.Headers.Location!.PathAndQuery, StringComparison.Ordinal);

        // A trader is signed in, but is not an operator.
        using var trader = await system.NewTraderAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Someone_elses_withdrawal_is_forbidden_and_the_attempt_audited()
    {
        using var owner = await system.NewTraderAsync();
        await owner.CreditAsync("2");
        var id = await owner.AcceptedWithdrawalAsync("1", Valid);
        using var other = await system.NewTraderAsync();

        Assert.Equal(HttpStatusCode.Forbidden, (await other.Http.GetAsync($"/api/withdrawals/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.Http.PostAsync($"/api/withdrawals/{id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.Http.GetAsync($"/api/withdrawals/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal("pending_approval", (await owner.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("1", "1"), await owner.BalanceAsync());

        var denied = await system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Actor == "member:" + other.Subject && a.Action == "access.denied")
            .Select(a => a.Data).ToListAsync());
        Assert.Equal(2, denied.Count);
        Assert.All(denied, d => Assert.Contains(id.ToString(), d, StringComparison.Ordinal));
    }

    private async Task AssertNothingHappenedAsync(Trader trader)
    {
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        var page = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!;
        Assert.Equal(0, page["total"]!.GetValue<int>());
        var challenges = await system.InScopeAsync((db, _) =>
            db.Members.Where(m => m.Subject == trader.Subject).Join(db.Challenges, m => m.Id, c => c.MemberId, (m, c) => c).CountAsync());
        Assert.Equal(0, challenges);
    }
}
