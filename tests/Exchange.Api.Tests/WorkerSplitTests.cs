using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>An API-only instance in front, a worker-only instance behind, and no reconciler passes at all.</summary>
public sealed class WorkerSplitFixture : InstancesFixture;

/// <summary>
/// New work reaches the job-running instance the moment it commits, whichever instance committed it:
/// the API-only instance hands the challenge to send and the tapped withdrawal to sign to the worker
/// through PostgreSQL NOTIFY. The reconciler never runs here, so nothing else could move them.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class WorkerSplitTests(WorkerSplitFixture system) : IClassFixture<WorkerSplitFixture>
{
    [Fact]
    public async Task An_api_only_instance_hands_sending_and_signing_to_the_worker_without_a_queue()
    {
        var (api, worker) = system.ApiAndWorkerSettings();
        await using var front = ExchangeProcess.Start(api);
        await front.WaitUntilLiveAsync(system.Url(0));
        await using var back = ExchangeProcess.Start(worker);
        await back.WaitUntilLiveAsync(system.Url(1));

        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var destination = ExchangeFixture.NewAddress();
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await trader.AcceptedWithdrawalAsync("1", destination));
        }

        // Sent by the worker: the API-only instance runs no jobs.
        var pending = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={trader.Subject}&status=pending"))!,
            list => list.Count == ids.Count, "the worker to send every challenge", seconds: 20);
        foreach (var challenge in pending)
        {
            using var tap = await system.Simulator.PostAsync($"/simulator/challenges/{challenge!["vivo_id"]!.GetValue<string>()}/tap", null);
            Assert.Equal(HttpStatusCode.OK, tap.StatusCode);
        }

        // The callbacks landed on the API-only instance; the worker signed, broadcast and watched them to confirmation.
        foreach (var id in ids)
        {
            var confirmed = await trader.WaitForWithdrawalAsync(id, "confirmed", seconds: 30);
            Assert.NotNull(confirmed["txHash"]);
        }

        Assert.Equal(3 * 1_000_000_000_000_000_000m, (decimal)await system.Anvil.GetBalanceAsync(destination));
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        // None of it went through Hangfire's queue: the dispatcher started each step at its commit.
        await using var jobs = new NpgsqlCommand("SELECT count(*) FROM hangfire.job", connection);
        Assert.Equal(0L, (long)(await jobs.ExecuteScalarAsync())!);
        Assert.False(front.HasExited, front.Output);
        Assert.False(back.HasExited, back.Output);
    }
}
