using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>What anyone may read: the API's OpenAPI document, the pages, and who (if anyone) is signed in.</summary>
public sealed class PublicEndpointsTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    private HttpClient Anonymous() => new() { BaseAddress = new Uri(system.ExchangeUrl) };

    [Fact]
    public async Task The_openapi_document_describes_the_withdrawal_and_callback_bodies_with_examples()
    {
        using var anonymous = Anonymous();
        var document = (await anonymous.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;

        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var withdraw = document["paths"]!["/api/withdrawals"]!["post"]!;
        Assert.Equal("1.25", withdraw["requestBody"]!["content"]!["application/json"]!["example"]!["amount"]!.GetValue<string>());
        Assert.Equal("pending_approval", withdraw["responses"]!["202"]!["content"]!["application/json"]!["example"]!["status"]!.GetValue<string>());
        Assert.NotNull(withdraw["responses"]!["400"]!["content"]!["application/problem+json"]!["example"]!["errors"]!["address"]);

        var callback = document["paths"]!["/vivokey/callback"]!["post"]!["requestBody"]!["content"]!["application/json"]!;
        Assert.Equal(["id", "success", "vivo_id"], callback["schema"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        Assert.Equal("declined", callback["examples"]!["declined"]!["value"]!["error"]!.GetValue<string>());
        Assert.NotNull(document["paths"]!["/api/events"]);
        Assert.Null(document["paths"]!["/compliance"]);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/compliance")]
    [InlineData("/operations")]
    [InlineData("/api-reference")]
    public async Task Each_page_is_served_to_anyone_and_loads_nothing_from_another_origin(string path)
    {
        using var anonymous = Anonymous();
        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("/assets/common.js", html, StringComparison.Ordinal);
        using var script = await anonymous.GetAsync("/assets/common.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task A_visitor_asking_who_is_signed_in_gets_an_answer_not_a_refusal()
    {
        using var anonymous = Anonymous();
        var denied = await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Action == "access.denied"));

        var visitor = (await anonymous.GetFromJsonAsync<JsonObject>("/api/session"))!;

        Assert.False(visitor["signedIn"]!.GetValue<bool>());
        Assert.Null(visitor["member"]);
        Assert.Equal(denied, await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Action == "access.denied")));

        using var trader = await system.NewTraderAsync("Session Sam");
        var member = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/session"))!;
        Assert.True(member["signedIn"]!.GetValue<bool>());
        Assert.Equal(trader.Subject, member["member"]!["subject"]!.GetValue<string>());
        Assert.Contains("trader", member["member"]!["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
    }
}
