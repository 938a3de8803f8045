using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>Two or three instances; every instance runs the reconciler every second.</summary>
public sealed class TwoInstancesFixture : InstancesFixture
{
    protected override void Configure(IDictionary<string, string?> exchange)
    {
        // Every instance runs the reconciler every second; the tests add passes of their own on top.
        exchange["Reconciler:Cron"] = "*/1 * * * * *";
        exchange["Reconciler:StuckAfterSeconds"] = "1";
        exchange["Reconciler:GraceSeconds"] = "600";
    }
}

/// <summary>
/// Two instances at once: requests made on both, every callback delivered to both at the same
/// moment and repeated, reconcilers running on both and from the command line. One transition
/// each, one nonce each, one transaction on chain each.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class MultiInstanceTests(TwoInstancesFixture system, ITestOutputHelper output) : IClassFixture<TwoInstancesFixture>
{
    private const int Withdrawals = 8;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Callbacks_raced_across_instances_apply_once_and_each_withdrawal_is_sent_once(int count)
    {
        var instances = Enumerable.Range(0, count).Select(i => ExchangeProcess.Start(system.Settings(i))).ToList();
        try
        {
            await Task.WhenAll(instances.Select((p, i) => p.WaitUntilLiveAsync(system.Url(i))));
            await RaceAsync(count);
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    private async Task RaceAsync(int count)
    {

        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        // VivoKey delivers none of this member's callbacks itself (for every challenge: a re-sent POST must not use the
        // rule up): the test delivers each to every instance at once.
        using (var fault = await system.Simulator.PostAsJsonAsync("/simulator/faults", new { member = trader.Subject, remaining = (int?)null, plan = new { callback = "never" } }))
        {
            fault.EnsureSuccessStatusCode();
        }

        // Requests alternate between the instances (the session cookie is good on both: Data Protection keys are shared).
        var destinations = Enumerable.Range(0, Withdrawals).Select(_ => ExchangeFixture.NewAddress()).ToList();
        var ids = new List<Guid>();
        for (var i = 0; i < Withdrawals; i++)
        {
            var url = system.Url(i % count) + "/api/withdrawals";
            using var response = await trader.SendAsync(url, new { asset = "ETH", amount = "1", address = destinations[i] });
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
            ids.Add(JsonNode.Parse(text)!["id"]!.GetValue<Guid>());
        }

        var pending = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={trader.Subject}&status=pending"))!,
            list => list.Count == Withdrawals, "every challenge to reach VivoKey");

        // Each tapped, then its callback posted three times to each instance, all at once.
        using var http = new HttpClient();
        var applied = 0;
        foreach (var challenge in pending)
        {
            Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge!["vivo_id"]!.GetValue<string>()));
            var body = new { success = true, id = challenge["id"]!.GetValue<string>(), vivo_id = challenge["vivo_id"]!.GetValue<string>(), message = "Success" };
            var answers = await Task.WhenAll(Enumerable.Range(0, 3 * count).Select(async n =>
            {
                using var response = await http.PostAsJsonAsync(system.Url(n % count) + "/vivokey/callback", body);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["applied"]!.GetValue<bool>();
            }));
            Assert.Equal(1, answers.Count(x => x));
            applied += answers.Count(x => x);
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

        var these = string.Join(',', ids.Select(i => $"'{i}'::uuid"));
        Assert.Equal(Withdrawals, await ScalarAsync<long>($"SELECT count(DISTINCT nonce) FROM withdrawal_transactions WHERE withdrawal_id = ANY(ARRAY[{these}])"));
        Assert.Equal(Withdrawals, await ScalarAsync<long>($"SELECT count(*) FROM withdrawal_transactions WHERE withdrawal_id = ANY(ARRAY[{these}])"));
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
