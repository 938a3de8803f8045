using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

public sealed class ManagementPortFixture : ExchangeFixture;

/// <summary>
/// /metrics and the detailed readiness answer on the management port (Exchange:ManagementUrls) only: the public
/// port, the one a load balancer routes, answers 404 for them however the path is spelled or whatever Host a client
/// claims, and its readiness is a bare status. The management port serves nothing else.
/// </summary>
public sealed class ManagementPortTests(ManagementPortFixture system) : IClassFixture<ManagementPortFixture>
{
    [Fact]
    public async Task Metrics_answer_on_the_management_port_and_404_on_the_public_one_however_spelled()
    {
        using var http = new HttpClient();
        using (var scrape = await http.GetAsync(system.ManagementUrl + "/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.Contains("# TYPE", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await Scrape.AssertNotServedAsync(system.ExchangeUrl);

        // The Host header is the client's to write: claiming the management port's changes nothing.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, system.ExchangeUrl + "/metrics");
        spoofed.Headers.Host = new Uri(system.ManagementUrl).Authority;
        using var spoofedAnswer = await http.SendAsync(spoofed);
        Assert.Equal(HttpStatusCode.NotFound, spoofedAnswer.StatusCode);
        Assert.DoesNotContain("# TYPE", await spoofedAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_public_readiness_is_a_bare_status_and_the_management_port_names_each_check()
    {
        using var http = new HttpClient();

        var details = await Poll.UntilAsync(async () =>
        {
            using var ready = await http.GetAsync(system.ManagementUrl + "/health/ready");
            return (ready.StatusCode, Body: JsonNode.Parse(await ready.Content.ReadAsStringAsync())!);
        }, answer => answer.StatusCode == HttpStatusCode.OK, "the management port's readiness", seconds: 60);
        Assert.Equal("ok", details.Body["checks"]!["postgres"]!.GetValue<string>());

        var bare = await Poll.UntilAsync(async () =>
        {
            using var ready = await http.GetAsync(system.ExchangeUrl + "/health/ready");
            return (ready.StatusCode, Body: await ready.Content.ReadAsStringAsync());
        }, answer => answer.StatusCode == HttpStatusCode.OK, "the public readiness", seconds: 60);
        Assert.Equal("""{"status":"ready"}""", bare.Body);
    }

    [Theory]
    [InlineData("/api/session")]
    [InlineData("/api/me")]
    [InlineData("/")]
    [InlineData("/login")]
    [InlineData("/hangfire")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/vivokey/callback")]
    public async Task The_management_port_serves_nothing_else(string path)
    {
        using var trader = await system.NewTraderAsync();
        using var management = trader.WithoutRedirects(system.ManagementUrl);

        using var response = await management.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Without_management_urls_neither_metrics_nor_the_detailed_readiness_is_served_and_the_start_says_so()
    {
        var logs = new CapturedLogs();
        var settings = system.ExchangeSettings();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Urls"] = url;
        settings["Exchange:RunJobs"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using var app = await Task.Run(() => ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
        }));
        await app.StartAsync();
        using var http = new HttpClient();

        await Scrape.AssertNotServedAsync(url);
        using (var ready = await http.GetAsync(url + "/health/ready"))
        {
            var body = await ready.Content.ReadAsStringAsync();
            Assert.DoesNotContain("checks", body, StringComparison.Ordinal);
            Assert.Equal(JsonNode.Parse(body)!["status"]!.GetValue<string>() == "ready" ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        Assert.Contains(logs.Lines, l => l.Message.StartsWith("Exchange:ManagementUrls is not set: /metrics and the detailed readiness are not served", StringComparison.Ordinal));
        await app.StopAsync();
    }
}
