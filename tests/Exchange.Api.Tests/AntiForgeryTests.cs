using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>
/// Unsafe requests under /api carry X-Requested-With: exchange, which a cross-site form cannot send (and a
/// cross-site fetch cannot without CORS, which the exchange never allows); the Hangfire dashboard checks its
/// own antiforgery token.
/// </summary>
public sealed partial class AntiForgeryTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    private const string Valid = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    [Theory]
    [InlineData(null)]
    [InlineData("XMLHttpRequest")]
    public async Task A_withdrawal_without_the_header_is_refused_with_400_naming_it_and_nothing_happens(string? value)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        using var forged = trader.On(system.ExchangeUrl);
        forged.DefaultRequestHeaders.Remove(Trader.AntiForgeryHeader);
        if (value is not null)
        {
            forged.DefaultRequestHeaders.Add(Trader.AntiForgeryHeader, value);
        }

        using var response = await forged.PostAsJsonAsync("/api/withdrawals", new { asset = "ETH", amount = "1", address = Valid });
        using var cancel = await forged.PostAsync($"/api/withdrawals/{Guid.NewGuid()}/cancel", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(problem["errors"]!.AsObject().ContainsKey("X-Requested-With"), problem.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, cancel.StatusCode);
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        Assert.Equal(0, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
        var actions = await system.InScopeAsync((db, _) =>
            db.AuditEvents.Where(a => a.Actor == "member:" + trader.Subject).Select(a => a.Action).ToListAsync());
        Assert.DoesNotContain(actions, a => a.StartsWith("withdrawal.", StringComparison.Ordinal));

        // The same request with the header, from the same session, goes through.
        using var accepted = await trader.WithdrawAsync("1", Valid);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(("9", "1"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task Reads_and_requests_outside_the_api_need_no_header()
    {
        using var trader = await system.NewTraderAsync();
        using var plain = trader.On(system.ExchangeUrl);
        plain.DefaultRequestHeaders.Remove(Trader.AntiForgeryHeader);

        Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/api/balances")).StatusCode);
        // VivoKey's callback is server to server, outside /api: an id never issued is 404, not a missing header.
        using var callback = await plain.PostAsJsonAsync("/vivokey/callback", new { id = "never-issued-" + Guid.NewGuid().ToString("N"), vivo_id = "x", success = true });
        Assert.Equal(HttpStatusCode.NotFound, callback.StatusCode);
    }

    [Fact]
    public async Task The_dashboard_refuses_a_command_without_its_antiforgery_token()
    {
        using var ops = await system.NewTraderAsync("Olga Operator", "operator-1");
        var page = await ops.Http.GetStringAsync("/hangfire/recurring");
        var header = Meta("csrf-header").Match(page);
        var token = Meta("csrf-token").Match(page);
        Assert.True(header.Success && token.Success, "the dashboard page carries its antiforgery token");

        // Deleting a job that does not exist: a command the operator may give, which changes nothing either way.
        using var forged = await ops.Http.PostAsync("/hangfire/jobs/enqueued/delete", new FormUrlEncodedContent([new("jobs[]", "987654321")]));
        using var withToken = new HttpRequestMessage(HttpMethod.Post, "/hangfire/jobs/enqueued/delete") { Content = new FormUrlEncodedContent([new("jobs[]", "987654321")]) };
        withToken.Headers.Add(header.Groups["value"].Value, token.Groups["value"].Value);
        using var genuine = await ops.Http.SendAsync(withToken);

        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.True(genuine.IsSuccessStatusCode, $"{(int)genuine.StatusCode} {await genuine.Content.ReadAsStringAsync()}");
    }

    private static Regex Meta(string name) => new($"<meta name=\"{name}\" content=\"(?<value>[^\"]+)\"");
}
