using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>
/// `make cluster`'s topology: nginx (the same configuration, scripts/cluster-lb.sh) on the exchange's public
/// address, in front of two API-only instances, and one worker-only instance, all real processes on one
/// PostgreSQL, anvil and simulator. VivoKey redirects and calls back to the load balancer's address only.
/// </summary>
public sealed class ClusterFixture : ExchangeFixture
{
    public string Api1Url { get; } = $"http://127.0.0.1:{FreePort.Next()}";
    public string Api2Url { get; } = $"http://127.0.0.1:{FreePort.Next()}";
    public string WorkerUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";

    /// <summary>The API instances' management ports (/metrics, the detailed readiness), which nginx never routes to.</summary>
    public string[] ApiManagementUrls { get; } = [$"http://127.0.0.1:{FreePort.Next()}", $"http://127.0.0.1:{FreePort.Next()}"];

    protected override bool StartsExchangeInProcess => false;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        // As in production: the worker's reconciler takes up, every two seconds, what a stopped instance left.
        exchange["Reconciler:Cron"] = "*/2 * * * * *";
        exchange["Reconciler:StuckAfterSeconds"] = "2";
        exchange["Exchange:MigrateOnStartup"] = "false";
    }

    public Dictionary<string, string?> ApiSettings(string url)
    {
        var settings = ExchangeSettings();
        settings["Urls"] = url;
        settings["Exchange:ManagementUrls"] = ApiManagementUrls[url == Api1Url ? 0 : 1];
        settings["Exchange:RunJobs"] = "false";
        // Behind nginx on loopback: the exchange believes its X-Forwarded-* by default (Exchange:TrustedProxies).
        return settings;
    }

    public Dictionary<string, string?> WorkerSettings()
    {
        var settings = ExchangeSettings();
        settings["Urls"] = WorkerUrl;
        settings["Exchange:ServeApi"] = "false";
        return settings;
    }

    /// <summary>Migrates once, then starts the worker, the two API instances and the load balancer.</summary>
    public async Task<Cluster> StartAsync()
    {
        await using (var migrate = ExchangeProcess.Start(ExchangeSettings(), "migrate"))
        {
            Assert.True(await migrate.WaitForExitAsync() == 0, migrate.Output);
        }

        var cluster = new Cluster(this)
        {
            Worker = ExchangeProcess.Start(WorkerSettings()),
            Api1 = ExchangeProcess.Start(ApiSettings(Api1Url)),
            Api2 = ExchangeProcess.Start(ApiSettings(Api2Url)),
        };
        try
        {
            await Task.WhenAll(cluster.Worker.WaitUntilLiveAsync(WorkerUrl), cluster.Api1.WaitUntilLiveAsync(Api1Url), cluster.Api2.WaitUntilLiveAsync(Api2Url));
            cluster.Balancer = await LoadBalancer.StartAsync(ExchangeUrl, Api1Url, Api2Url);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task AutoTapAsync(bool on)
    {
        using var response = await Simulator.PutAsJsonAsync("/simulator/auto-tap", new { challenges = on });
        response.EnsureSuccessStatusCode();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }

    public async Task<string> AssertInvariantsHoldAsync()
    {
        await using var check = ExchangeProcess.Start(ExchangeSettings(), "check-invariants");
        Assert.True(await check.WaitForExitAsync() == 0, check.Output);
        Assert.Contains("All invariants hold.", check.Output, StringComparison.Ordinal);
        return check.Output;
    }
}

/// <summary>One running cluster; every process stops with it.</summary>
public sealed class Cluster(ClusterFixture system) : IAsyncDisposable
{
    public required ExchangeProcess Worker { get; set; }
    public required ExchangeProcess Api1 { get; init; }
    public required ExchangeProcess Api2 { get; init; }
    public LoadBalancer? Balancer { get; set; }

    public string Upstream1 => new Uri(system.Api1Url).Authority;
    public string Upstream2 => new Uri(system.Api2Url).Authority;

    public async ValueTask DisposeAsync()
    {
        if (Balancer is not null)
        {
            await Balancer.DisposeAsync();
        }

        foreach (var process in new[] { Api1, Api2, Worker })
        {
            await process.DisposeAsync();
        }
    }
}

[Collection(ProcessesCollection.Name)]
public sealed class ClusterTests(ClusterFixture system, ITestOutputHelper output) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task Signed_in_through_the_load_balancer_withdrawals_are_called_back_on_the_other_instance_and_the_worker_signs_them_all()
    {
        await using var cluster = await system.StartAsync();

        // Sign-in through nginx: /login, /signin-oidc and /api/me alternate between the instances, so the
        // correlation cookie one instance set is read by the other.
        using var trader = await system.NewTraderAsync();
        var signIn = cluster.Balancer!.AccessLog().Where(l => l.Path.StartsWith("/login", StringComparison.Ordinal) || l.Path == "/signin-oidc" || l.Path == "/api/me").ToList();
        Assert.Contains(signIn, l => l.Upstream == cluster.Upstream1);
        Assert.Contains(signIn, l => l.Upstream == cluster.Upstream2);

        // Through the load balancer, however spelled: no metrics, and a readiness without its checks' details.
        await Scrape.AssertNotServedAsync(system.ExchangeUrl);
        foreach (var management in system.ApiManagementUrls)
        {
            Assert.Contains("# TYPE", (await Scrape.FromAsync(management)).Text, StringComparison.Ordinal);
        }

        // The session is good on each instance by itself.
        using var api1 = trader.On(system.Api1Url);
        using var api2 = trader.On(system.Api2Url);
        foreach (var instance in new[] { api1, api2 })
        {
            var me = await instance.GetFromJsonAsync<JsonObject>("/api/me");
            Assert.Equal(trader.Subject, me!["subject"]!.GetValue<string>());
        }

        await trader.CreditAsync("10");

        // Every withdrawal asked for on instance 1; only VivoKey's callbacks go through the load balancer now.
        const int count = 6;
        var destinations = Enumerable.Range(0, count).Select(_ => ExchangeFixture.NewAddress()).ToList();
        var ids = new List<Guid>();
        foreach (var destination in destinations)
        {
            using var response = await api1.PostAsJsonAsync("/api/withdrawals", new { asset = "ETH", amount = "1", address = destination });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
            ids.Add(JsonNode.Parse(body)!["id"]!.GetValue<Guid>());
        }

        var pending = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={trader.Subject}&status=pending"))!,
            list => list.Count == count, "the worker to send every challenge");
        var callbacksBefore = cluster.Balancer.AccessLog().Count(l => l.Path == "/vivokey/callback");
        await Task.WhenAll(pending.Select(c => system.TapAsync(c!["vivo_id"]!.GetValue<string>())));

        foreach (var id in ids)
        {
            var withdrawal = await Poll.UntilAsync(async () => (await api1.GetFromJsonAsync<JsonObject>($"/api/withdrawals/{id}"))!,
                w => w["status"]!.GetValue<string>() == "confirmed", $"withdrawal {id} to be confirmed", seconds: 60);
            Assert.NotNull(withdrawal["txHash"]);
        }

        foreach (var destination in destinations)
        {
            Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(destination));
        }

        // nginx took turns: instance 2 applied callbacks of withdrawals instance 1 had taken.
        var callbacks = cluster.Balancer.AccessLog().Where(l => l.Path == "/vivokey/callback").Skip(callbacksBefore).ToList();
        output.WriteLine(string.Join('\n', callbacks.Select(c => $"{c.Method} {c.Path} {c.Status} by {c.Upstream}")));
        Assert.Equal(count, callbacks.Count(c => c.Status == 200));
        Assert.Contains(callbacks, c => c.Upstream == cluster.Upstream2);

        // Only the worker runs jobs: it has the Hangfire servers (named after its process), the API instances none.
        var servers = await system.ScalarAsync<string[]>("SELECT array_agg(id) FROM hangfire.server");
        Assert.Contains(servers, id => id.Contains($":{cluster.Worker.Pid}:", StringComparison.Ordinal));
        Assert.DoesNotContain(servers, id => id.Contains($":{cluster.Api1.Pid}:", StringComparison.Ordinal) || id.Contains($":{cluster.Api2.Pid}:", StringComparison.Ordinal));
        Assert.Equal(count, await system.ScalarAsync<long>(
            $"SELECT count(*) FROM audit_events WHERE action = 'withdrawal.transaction_signed' AND subject = ANY(ARRAY[{string.Join(',', ids.Select(i => $"'withdrawal:{i}'"))}])"));
        output.WriteLine(await system.AssertInvariantsHoldAsync());
    }

    [Fact]
    public async Task An_api_instance_stopped_mid_run_loses_nothing_and_the_other_serves_on()
    {
        await using var cluster = await system.StartAsync();
        var traders = new List<Trader>();
        for (var i = 0; i < 3; i++)
        {
            var trader = await system.NewTraderAsync();
            await trader.CreditAsync("20");
            traders.Add(trader);
        }

        await system.AutoTapAsync(true);
        try
        {
            // Each trader asks for withdrawals through nginx without pause; instance 1 is stopped a few requests in.
            const int perTrader = 8;
            var answers = new System.Collections.Concurrent.ConcurrentBag<(HttpStatusCode Status, string Body)>();
            var asked = 0;
            var stopped = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var load = traders.Select(async trader =>
            {
                for (var n = 0; n < perTrader; n++)
                {
                    using var response = await trader.WithdrawAsync("1", ExchangeFixture.NewAddress());
                    answers.Add((response.StatusCode, await response.Content.ReadAsStringAsync()));
                    if (Interlocked.Increment(ref asked) == 6)
                    {
                        _ = Task.Run(async () => stopped.SetResult(await cluster.Api1.StopAsync()));
                    }
                }
            }).ToList();
            await Task.WhenAll(load);

            // Graceful: the open requests ended, and the process exited by itself with 0.
            Assert.Equal(0, await stopped.Task.WaitAsync(TimeSpan.FromSeconds(60)));

            var refused = answers.Where(a => a.Status != HttpStatusCode.Accepted).ToList();
            output.WriteLine($"{answers.Count} requests: {answers.Count - refused.Count} accepted; others: {string.Join("; ", refused.Select(r => $"{(int)r.Status} {r.Body}"))}");
            // A request the stopping instance never took went to the other one; none failed in the application.
            // The one answer a stop can cost: nginx's 502 when it sent a POST on a kept-alive connection the instance was
            // closing at that moment (nginx never resends a POST). Whether or not it was taken, the check below covers it.
            Assert.All(refused, r => Assert.Equal(HttpStatusCode.BadGateway, r.Status));
            Assert.True(refused.Count <= 2, $"{refused.Count} requests were not accepted");

            // Every withdrawal the traders have, answered or not, ends confirmed: nothing was lost or left halfway.
            var subjects = string.Join(',', traders.Select(t => $"'{t.Subject}'"));
            var total = await system.ScalarAsync<long>($"SELECT count(*) FROM withdrawals w JOIN members m ON m.id = w.member_id WHERE m.subject IN ({subjects})");
            Assert.True(total >= answers.Count(a => a.Status == HttpStatusCode.Accepted));
            try
            {
                await Poll.UntilAsync(
                    () => system.ScalarAsync<long>($"SELECT count(*) FROM withdrawals w JOIN members m ON m.id = w.member_id WHERE m.subject IN ({subjects}) AND w.status = 'confirmed'"),
                    confirmed => confirmed == total, "every withdrawal to be confirmed", seconds: 90);
            }
            catch (TimeoutException)
            {
                // What a failure needs to be understood: where each unconfirmed one stopped, and every callback nginx did not answer 200.
                output.WriteLine(await system.ScalarAsync<string>(
                    $"SELECT coalesce(string_agg(w.id || ' ' || w.status || ' challenge ' || c.state || ' ' || coalesce(c.outcome, '-') || ' sends ' || c.send_attempts, '; '), '') FROM withdrawals w JOIN members m ON m.id = w.member_id LEFT JOIN challenges c ON c.request_id = w.id WHERE m.subject IN ({subjects}) AND w.status <> 'confirmed'"));
                output.WriteLine(string.Join('\n', cluster.Balancer!.AccessLog().Where(l => l.Path == "/vivokey/callback" && l.Status != 200).Select(l => $"{l.Method} {l.Path} {l.Status} by {l.Upstream}")));
                throw;
            }
            foreach (var trader in traders)
            {
                var (available, held) = await trader.BalanceAsync();
                Assert.Equal("0", held);
                output.WriteLine($"{trader.Subject}: available {available}");
            }

            output.WriteLine(await system.AssertInvariantsHoldAsync());
        }
        finally
        {
            await system.AutoTapAsync(false);
            traders.ForEach(t => t.Dispose());
        }
    }

    [Fact]
    public async Task A_worker_stopped_mid_run_finishes_or_hands_back_its_work_and_nothing_is_lost()
    {
        await using var cluster = await system.StartAsync();
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("20");
        await system.AutoTapAsync(true);
        try
        {
            const int count = 10;
            var ids = new List<Guid>();
            for (var i = 0; i < count; i++)
            {
                ids.Add(await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress()));
            }

            // Stopped while the first taps are being worked on: it ends what it holds, hands back the rest, and exits 0.
            var these = string.Join(',', ids.Select(i => $"'{i}'::uuid"));
            await Poll.UntilAsync(() => system.ScalarAsync<long>($"SELECT count(*) FROM withdrawals WHERE id IN ({these}) AND status <> 'pending_approval'"),
                moved => moved > 0, "a first tap to arrive", seconds: 60);
            Assert.Equal(0, await cluster.Worker.StopAsync());
            output.WriteLine(string.Join('\n', cluster.Worker.Output.Split('\n').Where(l => l.Contains("Stopping", StringComparison.Ordinal))));
            var atStop = await system.ScalarAsync<long>($"SELECT count(*) FROM withdrawals WHERE id IN ({these}) AND status = 'confirmed'");
            output.WriteLine($"{atStop} of {count} confirmed when the worker stopped");

            // A new worker (a rolling deploy's next one) finishes everything; each withdrawal is sent once.
            cluster.Worker = ExchangeProcess.Start(system.WorkerSettings());
            await cluster.Worker.WaitUntilLiveAsync(system.WorkerUrl);
            foreach (var id in ids)
            {
                await trader.WaitForWithdrawalAsync(id, "confirmed", seconds: 90);
            }

            Assert.Equal(count, await system.ScalarAsync<long>($"SELECT count(DISTINCT nonce) FROM withdrawal_transactions WHERE withdrawal_id IN ({these})"));
            Assert.Equal(("10", "0"), await trader.BalanceAsync());
            output.WriteLine(await system.AssertInvariantsHoldAsync());
        }
        finally
        {
            await system.AutoTapAsync(false);
        }
    }
}
