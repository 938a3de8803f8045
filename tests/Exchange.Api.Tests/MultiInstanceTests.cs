using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>Two exchange processes on one database and one anvil, each with its own address, both running jobs.</summary>
public sealed class TwoInstancesFixture : ExchangeFixture
{
    public string SecondUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";

    protected override bool StartsExchangeInProcess => false;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        // Every instance runs the reconciler every second; the tests add passes of their own on top.
        exchange["Reconciler:Cron"] = "*/1 * * * * *";
        exchange["Reconciler:StuckAfterSeconds"] = "1";
        exchange["Reconciler:GraceSeconds"] = "600";
    }

    protected override void ConfigureSimulator(IDictionary<string, string?> simulator)
    {
        simulator["Simulator:Clients:0:RedirectUris:1"] = SecondUrl + "/signin-oidc";
        simulator["Simulator:Clients:0:CallbackUrls:1"] = SecondUrl + "/vivokey/callback";
    }

    public Dictionary<string, string?> SecondSettings()
    {
        var settings = ExchangeSettings();
        settings["Urls"] = SecondUrl;
        settings["VivoKey:CallbackUrl"] = SecondUrl + "/vivokey/callback";
        return settings;
    }
}

/// <summary>
/// Two instances at once: requests made on both, every callback delivered to both at the same
/// moment and repeated, reconcilers running on both and from the command line. One transition
/// each, one nonce each, one transaction on chain each.
/// </summary>
[Collection("processes")]
public sealed class MultiInstanceTests(TwoInstancesFixture system, ITestOutputHelper output) : IClassFixture<TwoInstancesFixture>
{
    private const int Withdrawals = 8;

    [Fact]
    public async Task Callbacks_raced_across_two_instances_apply_once_and_each_withdrawal_is_sent_once()
    {
        await using var a = ExchangeProcess.Start(system.ExchangeSettings());
        await using var b = ExchangeProcess.Start(system.SecondSettings());
        await Task.WhenAll(a.WaitUntilLiveAsync(system.ExchangeUrl), b.WaitUntilLiveAsync(system.SecondUrl));

        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        // VivoKey delivers none of these callbacks itself: the test delivers each to both instances at once.
        using (var fault = await system.Simulator.PostAsJsonAsync("/simulator/faults", new { member = trader.Subject, remaining = Withdrawals, plan = new { callback = "never" } }))
        {
            fault.EnsureSuccessStatusCode();
        }

        // Requests alternate between the instances (the session cookie is good on both: Data Protection keys are shared).
        var destinations = Enumerable.Range(0, Withdrawals).Select(_ => ExchangeFixture.NewAddress()).ToList();
        var ids = new List<Guid>();
        for (var i = 0; i < Withdrawals; i++)
        {
            var url = (i % 2 == 0 ? system.ExchangeUrl : system.SecondUrl) + "/api/withdrawals";
            using var response = await trader.SendAsync(url, new { asset = "ETH", amount = "1", address = destinations[i] });
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
            ids.Add(JsonNode.Parse(text)!["id"]!.GetValue<Guid>());
        }

        var pending = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={trader.Subject}&status=pending"))!,
            list => list.Count == Withdrawals, "every challenge to reach VivoKey");

        // Each tapped, then its callback posted three times to each instance, all six at once.
        using var http = new HttpClient();
        var applied = 0;
        foreach (var challenge in pending)
        {
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge!["vivo_id"]!.GetValue<string>()));
            var body = new { success = true, id = challenge["id"]!.GetValue<string>(), vivo_id = challenge["vivo_id"]!.GetValue<string>(), message = "Success" };
            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(async n =>
            {
                using var response = await http.PostAsJsonAsync((n % 2 == 0 ? system.ExchangeUrl : system.SecondUrl) + "/vivokey/callback", body);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["applied"]!.GetValue<bool>();
            }));
            Assert.Equal(1, answers.Count(x => x));
            applied++;
        }

        // Reconciler passes from the command line, two at once, on top of both instances' own.
        await Task.WhenAll(ReconcileAsync(), ReconcileAsync());
        await Poll.UntilAsync(() => ScalarAsync<long>($"SELECT count(*) FROM withdrawals WHERE status = 'confirmed' AND id = ANY(ARRAY[{string.Join(',', ids.Select(i => $"'{i}'::uuid"))}])"),
            n => n == Withdrawals, "every withdrawal to be confirmed", 90);

        Assert.Equal(Withdrawals, applied);
        foreach (var id in ids)
        {
            Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM audit_events WHERE subject = 'withdrawal:{id}' AND action = 'withdrawal.approved'"));
            Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM audit_events WHERE subject = 'withdrawal:{id}' AND action = 'withdrawal.transaction_signed'"));
        }

        Assert.Equal(Withdrawals, await ScalarAsync<long>("SELECT count(DISTINCT nonce) FROM withdrawal_transactions"));
        Assert.Equal(Withdrawals, await ScalarAsync<long>("SELECT count(*) FROM withdrawal_transactions"));
        foreach (var destination in destinations)
        {
            Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(destination));
        }

        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        await using var check = ExchangeProcess.Start(system.ExchangeSettings(), "check-invariants");
        Assert.True(await check.WaitForExitAsync() == 0, check.Output);
        output.WriteLine(check.Output);
    }

    private async Task ReconcileAsync()
    {
        await using var pass = ExchangeProcess.Start(system.ExchangeSettings(), "reconcile");
        Assert.True(await pass.WaitForExitAsync() == 0, pass.Output);
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
