using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Exchange.Testing;

namespace Exchange.Api.Tests;

public sealed class HealthFixture : InstancesFixture;

/// <summary>
/// What a load balancer and an orchestrator ask: /health/live (the process answers) and /health/ready
/// (PostgreSQL, the chain node and VivoKey's discovery document answer), on every kind of instance. The public
/// port's readiness is a bare status; each check and its error only on the management port.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class HealthTests(HealthFixture system) : IClassFixture<HealthFixture>
{
    [Fact]
    public async Task Ready_when_postgres_the_node_and_the_idp_answer_and_not_ready_naming_each_that_does_not_on_the_management_port_only()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // A worker-only instance with every dependency up.
        var worker = system.Settings(1);
        worker["Exchange:ServeApi"] = "false";
        await using (var up = ExchangeProcess.Start(worker))
        {
            await up.WaitUntilLiveAsync(system.Url(1));
            // Polled, as a readiness probe is: on a busy machine a first answer may miss the check's 5 s budget.
            var (status, body) = await Poll.UntilAsync(async () =>
            {
                using var ready = await http.GetAsync(system.ManagementUrlOf(1) + "/health/ready");
                return (ready.StatusCode, JsonNode.Parse(await ready.Content.ReadAsStringAsync())!);
            }, answer => answer.StatusCode == HttpStatusCode.OK, "the worker to be ready", seconds: 60);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ready", body["status"]!.GetValue<string>());
            foreach (var check in new[] { "postgres", "chain", "idp" })
            {
                Assert.Equal("ok", body["checks"]![check]!.GetValue<string>());
            }

            // The public port: the status alone.
            var (publicStatus, publicBody) = await Poll.UntilAsync(async () =>
            {
                using var ready = await http.GetAsync(system.Url(1) + "/health/ready");
                return (ready.StatusCode, await ready.Content.ReadAsStringAsync());
            }, answer => answer.StatusCode == HttpStatusCode.OK, "the worker to be ready on its public port", seconds: 60);
            Assert.Equal(HttpStatusCode.OK, publicStatus);
            Assert.Equal("""{"status":"ready"}""", publicBody);
        }

        // An API-only instance whose chain node and identity provider are nowhere: live, but not ready, saying which.
        var nowhere = $"http://127.0.0.1:{FreePort.Next()}";
        var api = system.Settings(2);
        api["Exchange:RunJobs"] = "false";
        api["Exchange:MigrateOnStartup"] = "false";
        api["Ethereum:RpcUrl"] = nowhere;
        api["VivoKey:Authority"] = nowhere + "/openid";
        await using var down = ExchangeProcess.Start(api);
        await down.WaitUntilLiveAsync(system.Url(2));

        // Anonymous and public: not ready, and nothing about why (no check names, no exception text, no addresses).
        using (var bare = await http.GetAsync(system.Url(2) + "/health/ready"))
        {
            var text = await bare.Content.ReadAsStringAsync();
            Assert.True(bare.StatusCode == HttpStatusCode.ServiceUnavailable, text);
            Assert.Equal("""{"status":"not_ready"}""", text);
        }

        using var notReady = await http.GetAsync(system.ManagementUrlOf(2) + "/health/ready");
        var answer = JsonNode.Parse(await notReady.Content.ReadAsStringAsync())!;
        Assert.True(notReady.StatusCode == HttpStatusCode.ServiceUnavailable, answer.ToJsonString());
        Assert.Equal("not_ready", answer["status"]!.GetValue<string>());
        Assert.Equal("ok", answer["checks"]!["postgres"]!.GetValue<string>());
        Assert.NotEqual("ok", answer["checks"]!["chain"]!.GetValue<string>());
        Assert.NotEqual("ok", answer["checks"]!["idp"]!.GetValue<string>());
        using var live = await http.GetAsync(system.Url(2) + "/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var liveOnManagement = await http.GetAsync(system.ManagementUrlOf(2) + "/health/live");
        Assert.Equal(HttpStatusCode.OK, liveOnManagement.StatusCode);
    }
}
