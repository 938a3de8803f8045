using System.Net;
using System.Net.Http.Headers;
using Exchange.Api.Features.Account;
using Exchange.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>A heartbeat of a fifth of a second: a stream's session is looked up again that often.</summary>
public sealed class ShortHeartbeatFixture : ExchangeFixture
{
    public const string Operator = "operator-1";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Exchange:EventsHeartbeatMilliseconds"] = "200";
}

/// <summary>
/// What outlives a request: the live feed of /api/events ends with its session (sign-out, an operator's
/// revocation), and the public readiness answer is one probe of the dependencies for many callers.
/// </summary>
public sealed class LiveSessionTests(ShortHeartbeatFixture system) : IClassFixture<ShortHeartbeatFixture>
{
    [Fact]
    public async Task The_live_feed_ends_when_its_session_signs_out()
    {
        using var trader = await system.NewTraderAsync();
        using var feed = await OpenFeedAsync(trader);
        var ended = ReadToEndAsync(feed);
        Assert.False(ended.IsCompleted);

        using var logout = await trader.Http.PostAsync("/logout", null);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);

        await ended.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_live_feed_ends_when_an_operator_revokes_the_members_sessions()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", ShortHeartbeatFixture.Operator);
        using var feed = await OpenFeedAsync(trader);
        var ended = ReadToEndAsync(feed);
        using var opsFeed = await OpenFeedAsync(ops);
        var opsEnded = ReadToEndAsync(opsFeed);

        using var revoke = await ops.SendAsync($"/api/operations/members/{trader.Subject}/sessions/revoke", new { });
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        await ended.WaitAsync(TimeSpan.FromSeconds(30));
        // The operator's own feed, whose session is live, is still open after the member's has ended.
        Assert.False(opsEnded.IsCompleted);
    }

    [Fact]
    public async Task Many_anonymous_readiness_requests_at_once_probe_the_dependencies_once()
    {
        using var caller = await system.NewTraderAsync();
        var probe = system.Services.GetRequiredService<Health.ReadinessProbe>();
        // Past any earlier answer's freshness: the first of these requests must probe.
        system.Clock.Advance(Health.ReadinessProbe.Freshness + TimeSpan.FromSeconds(1));
        var before = probe.Probes;

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var ready = await caller.Http.GetAsync("/health/ready");
            return (ready.StatusCode, Body: await ready.Content.ReadAsStringAsync());
        }));

        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, """{"status":"ready"}"""), a));
        Assert.Equal(1, probe.Probes - before);
    }

    private static async Task<HttpResponseMessage> OpenFeedAsync(Trader trader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await trader.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>Reads the feed until the server ends it; it never ends by itself while its session is live.</summary>
    private static async Task ReadToEndAsync(HttpResponseMessage feed)
    {
        using var reader = new StreamReader(await feed.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }
}
