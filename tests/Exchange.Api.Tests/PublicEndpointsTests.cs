using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task Each_request_body_in_the_openapi_document_has_its_own_schema()
    {
        using var trader = await system.NewTraderAsync("Schema Sid");
        var document = (await trader.Http.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        JsonNode Fields(string path) => Resolve(document, document["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!)["properties"]!;

        // The use cases' records share short names (Body); one schema for all would show a withdrawal's fields on a transfer.
        Assert.NotNull(Fields("/api/withdrawals")["address"]);
        Assert.Null(Fields("/api/withdrawals")["to"]);
        Assert.NotNull(Fields("/api/transfers")["to"]);
        Assert.Null(Fields("/api/transfers")["address"]);
        Assert.NotNull(Fields("/api/operations/actions")["reason"]);
    }

    private static JsonNode Resolve(JsonObject document, JsonNode schema) =>
        schema["$ref"]?.GetValue<string>() is { } reference ? document["components"]!["schemas"]![reference.Split('/')[^1]]! : schema;

    [Fact]
    public async Task Every_api_endpoint_is_in_the_openapi_document_with_a_summary_and_a_tag()
    {
        using var trader = await system.NewTraderAsync("Reader Rae");
        var document = (await trader.Http.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject()
                .Where(item => HttpMethods.Contains(item.Key))
                .Select(item => (Key: $"{item.Key.ToUpperInvariant()} {path.Key}", Operation: item.Value!)))
            .ToList();

        // Described on each endpoint's Map call: one left bare shows up here, by method and path. Untagged, an
        // operation gets the application's name as its tag, which is no tag a reader can use.
        var application = await system.InScopeAsync((_, services) => Task.FromResult(services.GetRequiredService<IWebHostEnvironment>().ApplicationName));
        Assert.Empty(operations.Where(o => string.IsNullOrWhiteSpace(o.Operation["summary"]?.GetValue<string>())).Select(o => o.Key));
        Assert.Empty(operations.Where(o => o.Operation["tags"]?.AsArray().Select(t => t?.GetValue<string>()).Any(t => !string.IsNullOrWhiteSpace(t) && t != application) != true)
            .Select(o => o.Key));

        // And none is missing from the document: every route the exchange maps under /api is in it.
        var mapped = await system.InScopeAsync((_, services) => Task.FromResult(services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
                .Select(method => $"{method} {DocumentPath(e.RoutePattern.RawText!)}"))
            .ToList()));
        Assert.Contains("POST /api/withdrawals", mapped);
        Assert.Empty(mapped.Except(operations.Select(o => o.Key)));
    }

    private static readonly HashSet<string> HttpMethods = ["get", "put", "post", "delete", "patch", "head", "options"];

    /// <summary>A route as the document writes its path: no constraints (<c>{id:guid}</c> is <c>{id}</c>), no trailing slash.</summary>
    private static string DocumentPath(string route) =>
        System.Text.RegularExpressions.Regex.Replace(route, "{([^}:]+):[^}]+}", "{$1}").TrimEnd('/');

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
