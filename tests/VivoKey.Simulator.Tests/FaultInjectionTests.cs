using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>Each fault the simulator can inject, observed by a receiving server. These tests own their simulator.</summary>
public sealed class FaultInjectionTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        using var clear = await sim.Http.DeleteAsync("/simulator/faults");
        clear.EnsureSuccessStatusCode();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task AddRule(object plan, int? remaining = 1, string? member = null)
    {
        using var response = await sim.PostJsonAsync("/simulator/faults", new Dictionary<string, object?>
        {
            ["member"] = member,
            ["remaining"] = remaining,
            ["plan"] = plan,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static object Challenge(string id, string callback) =>
        new { message = "Withdraw 1 ETH to 0xAb5801…eC9B", id, timeout = 60, callback };

    [Theory]
    [InlineData("error500", HttpStatusCode.InternalServerError)]
    [InlineData("error503", HttpStatusCode.ServiceUnavailable)]
    public async Task A_5xx_answer_creates_nothing_and_the_next_POST_succeeds(string fault, HttpStatusCode expected)
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { post = fault });
        var id = SimulatorFixture.NewId();

        var (status, _) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id, sim.Receiver.CallbackUrl));
        Assert.Equal(expected, status);
        Assert.Empty((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/challenges?id={Uri.EscapeDataString(id)}"))!);

        // The rule was used up: a retry of the same request is accepted.
        var (retry, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id, sim.Receiver.CallbackUrl));
        Assert.Equal(HttpStatusCode.OK, retry);
        Assert.True(body["accepted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_hanging_POST_is_never_answered_and_creates_nothing()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { post = "hang", hang_seconds = 600 });
        var id = SimulatorFixture.NewId();

        using var client = new HttpClient { BaseAddress = new Uri(sim.SimulatorUrl), Timeout = TimeSpan.FromSeconds(1) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1.0/validate/") { Content = JsonContent.Create(Challenge(id, sim.Receiver.CallbackUrl)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        await Assert.ThrowsAsync<TaskCanceledException>(() => client.SendAsync(request));

        Assert.Empty((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/challenges?id={Uri.EscapeDataString(id)}"))!);
    }

    [Fact]
    public async Task A_callback_held_back_is_never_sent_and_the_log_says_so()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { callback = "never" });
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        // The tap control answers after every immediate delivery is done, so nothing can still be on its way.
        using var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        tap.EnsureSuccessStatusCode();

        Assert.Empty(sim.Receiver.For(vivoId));
        var logged = Assert.Single((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min=1&wait_seconds=10"))!);
        Assert.False(logged!["sent"]!.GetValue<bool>());
        Assert.Equal("never", logged["fault"]!.GetValue<string>());
        Assert.Equal("success", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_callback_sent_twice_arrives_twice_with_the_same_body()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { callback = "twice" });
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        using var decline = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/decline");
        decline.EnsureSuccessStatusCode();

        var received = await sim.Receiver.WaitForAsync(vivoId, count: 2);
        Assert.Equal(2, received.Count);
        Assert.Equal(received[0].Raw, received[1].Raw);
        Assert.Equal("declined", received[0].Body["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task A_callback_before_the_response_arrives_before_the_POST_is_answered(bool declines, bool success)
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { callback = "before_response", before_response_declines = declines });

        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        // Already there the moment the POST's answer is read.
        var callback = Assert.Single(sim.Receiver.For(vivoId));
        Assert.Equal(success, callback.Body["success"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_late_callback_is_sent_only_when_its_delay_has_passed()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AddRule(new { callback = "late", late_seconds = 300 });
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        using var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        tap.EnsureSuccessStatusCode();
        Assert.Empty(sim.Receiver.For(vivoId));
        Assert.Empty((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}"))!);

        await sim.AdvanceClockAsync(301);
        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.True(callback.Body["success"]!.GetValue<bool>());
        var logged = Assert.Single((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min=1&wait_seconds=10"))!);
        Assert.Equal("late", logged!["fault"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rule_applies_only_to_its_member_and_a_run_plan_to_every_challenge()
    {
        var alice = await sim.LoginAsync(SimulatorFixture.Alice);
        var bob = await sim.LoginAsync(SimulatorFixture.Bob);
        await AddRule(new { post = "error503" }, remaining: null, member: SimulatorFixture.Bob);

        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(alice.AccessToken, Challenge(SimulatorFixture.NewId(), sim.Receiver.CallbackUrl))).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await sim.ValidateAsync(bob.AccessToken, Challenge(SimulatorFixture.NewId(), sim.Receiver.CallbackUrl))).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await sim.ValidateAsync(bob.AccessToken, Challenge(SimulatorFixture.NewId(), sim.Receiver.CallbackUrl))).Status);

        using (var clear = await sim.Http.DeleteAsync("/simulator/faults"))
        {
            clear.EnsureSuccessStatusCode();
        }

        using (var run = await sim.Http.PutAsJsonAsync("/simulator/faults/run", new { post = "error500" }))
        {
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        }

        Assert.Equal(HttpStatusCode.InternalServerError, (await sim.ValidateAsync(alice.AccessToken, Challenge(SimulatorFixture.NewId(), sim.Receiver.CallbackUrl))).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await sim.ValidateAsync(bob.AccessToken, Challenge(SimulatorFixture.NewId(), sim.Receiver.CallbackUrl))).Status);
    }

    [Fact]
    public async Task A_rule_with_an_unknown_fault_is_refused()
    {
        using var response = await sim.PostJsonAsync("/simulator/faults", new { plan = new { post = "explode" } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var faults = (await sim.Http.GetFromJsonAsync<JsonObject>("/simulator/faults"))!;
        Assert.Empty(faults["rules"]!.AsArray());
    }
}
