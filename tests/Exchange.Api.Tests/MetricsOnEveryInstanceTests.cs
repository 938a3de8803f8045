using System.Net;
using System.Text.Json;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

public sealed class MetricsInstancesFixture : InstancesFixture;

/// <summary>
/// An API-only instance and a worker-only one, each a process of its own: each serves /metrics on its management
/// port and counts what happened in it, once. The worker runs as Testing, which logs as Production does (JSON lines
/// whose scopes name the request or the withdrawal) but, unlike every other environment outside Development, may
/// use the simulator and anvil.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class MetricsOnEveryInstanceTests(MetricsInstancesFixture system) : IClassFixture<MetricsInstancesFixture>
{
    [Fact]
    public async Task Each_instance_counts_its_own_part_of_a_withdrawal_and_a_worker_outside_development_logs_json_with_scopes()
    {
        var (api, worker) = system.ApiAndWorkerSettings();
        worker["ASPNETCORE_ENVIRONMENT"] = "Testing";
        // ASP.NET Core's request lines, to see a request's scope in JSON.
        worker["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
        await using var front = ExchangeProcess.Start(api);
        await front.WaitUntilLiveAsync(system.Url(0));
        await using var back = ExchangeProcess.Start(worker);
        await back.WaitUntilLiveAsync(system.Url(1));

        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");

        // The API instance took the request and the callback; the worker signed, broadcast and confirmed.
        var apiScrape = await Poll.UntilAsync(() => Scrape.FromAsync(system.ManagementUrlOf(0)),
            s => s.Sum("exchange_challenges_ended_total", "outcome=success") >= 1, "the API instance to count the tap");
        var workerScrape = await Poll.UntilAsync(() => Scrape.FromAsync(system.ManagementUrlOf(1)),
            s => s.Sum("exchange_withdrawals_confirmed_total") >= 1, "the worker to count the confirmation");
        Assert.Equal(1, apiScrape.Sum("exchange_requests_accepted_total", "kind=withdrawal"));
        Assert.Equal(1, apiScrape.Sum("exchange_challenges_ended_total", "kind=withdrawal", "outcome=success"));
        Assert.Equal(0, apiScrape.Sum("exchange_withdrawals_confirmed_total"));
        Assert.Equal(1, workerScrape.Sum("exchange_tap_to_broadcast_duration_seconds_count"));
        Assert.Equal(1, workerScrape.Sum("exchange_withdrawals_confirmed_total"));
        Assert.Equal(0, workerScrape.Sum("exchange_requests_accepted_total"));
        // ASP.NET Core's request metrics, per route and status; scrapes are not traffic and stay out of them.
        Assert.Equal(1, apiScrape.Sum("http_server_request_duration_seconds_count", "http_route=/api/withdrawals", "http_response_status_code=202"));
        Assert.True(apiScrape.Sum("http_server_request_duration_seconds_count", "http_route=/api/withdrawals/{id:guid}", "http_response_status_code=200") >= 1, apiScrape.Text);
        Assert.Equal(0, apiScrape.Sum("http_server_request_duration_seconds_count", "http_route=/metrics"));
        Assert.True(workerScrape.Sum("http_server_request_duration_seconds_count", "http_route=/health/live", "http_response_status_code=200") >= 1, workerScrape.Text);

        // Outside Development: one JSON object a line, scopes as named fields.
        var lines = await Poll.UntilAsync(() => Task.FromResult(JsonLines(back.Output)),
            all => all.Any(l => Message(l).StartsWith("Confirmed", StringComparison.Ordinal)), "the worker to log the confirmation");
        var confirmed = lines.Single(l => Message(l).StartsWith("Confirmed", StringComparison.Ordinal));
        Assert.EndsWith("Withdrawals.FollowReceipts", confirmed.GetProperty("Category").GetString(), StringComparison.Ordinal);
        Assert.Equal(id.ToString(), ScopeField(confirmed, "WithdrawalId"));
        Assert.True(DateTimeOffset.TryParse(confirmed.GetProperty("Timestamp").GetString(), out _), confirmed.ToString());
        var request = lines.First(l => ScopeField(l, "RequestPath") == "/health/live");
        Assert.False(string.IsNullOrEmpty(ScopeField(request, "RequestId")), request.ToString());
        Assert.False(string.IsNullOrEmpty(ScopeField(request, "TraceId")), request.ToString());
    }

    private static List<JsonElement> JsonLines(string output) =>
        output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static string Message(JsonElement line) => line.TryGetProperty("Message", out var m) ? m.GetString() ?? "" : "";

    private static string? ScopeField(JsonElement line, string name) =>
        line.TryGetProperty("Scopes", out var scopes)
            ? scopes.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out _))
                .Select(s => s.GetProperty(name).ToString()).FirstOrDefault()
            : null;
}
