using System.Net;
using System.Text.Json.Nodes;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>
/// The Validation API's switches turned at run time: a resent id de-duplicated or not, token errors
/// by status alone, and a POST whose answer is lost after the challenge was made.
/// </summary>
public sealed class ChallengeBehaviourTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        await sim.SetBehavioursAsync(new { issue_refresh_tokens = true, refresh_revokes_previous = false, deduplicate_ids = true });
        using var clear = await sim.Http.DeleteAsync("/simulator/faults");
        clear.EnsureSuccessStatusCode();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Without_deduplication_a_resent_id_opens_a_second_challenge_and_each_calls_back_on_its_own()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await sim.SetBehavioursAsync(new { deduplicate_ids = false });
        var id = SimulatorFixture.NewId();

        var first = await AcceptedAsync(tokens.AccessToken, id);
        var second = await AcceptedAsync(tokens.AccessToken, id);
        Assert.NotEqual(first, second);
        var listed = await ChallengesAsync(id);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), listed.Select(c => c!["vivo_id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(listed, c => Assert.Equal("pending", c!["status"]!.GetValue<string>()));

        using (var tap = await sim.PostJsonAsync($"/simulator/challenges/{first}/tap"))
        {
            tap.EnsureSuccessStatusCode();
        }

        using (var decline = await sim.PostJsonAsync($"/simulator/challenges/{second}/decline"))
        {
            decline.EnsureSuccessStatusCode();
        }

        var tapped = Assert.Single(await sim.Receiver.WaitForAsync(first));
        var declined = Assert.Single(await sim.Receiver.WaitForAsync(second));
        Assert.True(tapped.Body["success"]!.GetValue<bool>());
        Assert.Equal("declined", declined.Body["error"]!.GetValue<string>());
        Assert.Equal(id, tapped.Body["id"]!.GetValue<string>());
        Assert.Equal(id, declined.Body["id"]!.GetValue<string>());

        // Switched back on, the id is refused once more.
        await sim.SetBehavioursAsync(new { deduplicate_ids = true });
        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("duplicate-id", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_token_errors_as_status_a_bad_token_gets_a_bare_401_and_a_revoked_one_or_a_missing_scope_a_403_page()
    {
        var expired = await sim.LoginAsync(SimulatorFixture.Bob);
        using (var expire = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Bob}/expire-tokens"))
        {
            expire.EnsureSuccessStatusCode();
        }

        var revoked = await sim.LoginAsync(SimulatorFixture.Alice);
        using (var revoke = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Alice}/revoke-tokens"))
        {
            revoke.EnsureSuccessStatusCode();
        }

        var unscoped = await sim.LoginAsync(SimulatorFixture.Alice, "openid");
        using (var run = await sim.Http.PutAsJsonAsync("/simulator/faults/run", new { token_errors_as_status = true }))
        {
            Assert.True((await run.Content.ReadFromJsonAsync<JsonObject>())!["token_errors_as_status"]!.GetValue<bool>());
        }

        foreach (var token in new[] { null, "not-a-token-this-service-issued", expired.AccessToken })
        {
            using var response = await sim.PostChallengeAsync(token, Challenge(SimulatorFixture.NewId()));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("", await response.Content.ReadAsStringAsync());
            Assert.Null(response.Content.Headers.ContentType);
        }

        foreach (var token in new[] { revoked.AccessToken, unscoped.AccessToken })
        {
            using var response = await sim.PostChallengeAsync(token, Challenge(SimulatorFixture.NewId()));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<h1>403 Forbidden</h1>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Only the run plan counts: in a rule the switch changes nothing, and the JSON answers are back.
        using (var clear = await sim.Http.DeleteAsync("/simulator/faults"))
        {
            clear.EnsureSuccessStatusCode();
        }

        using (var rule = await sim.PostJsonAsync("/simulator/faults", new { remaining = (int?)null, plan = new { token_errors_as_status = true } }))
        {
            rule.EnsureSuccessStatusCode();
        }

        var (status, body) = await sim.ValidateAsync(revoked.AccessToken, Challenge(SimulatorFixture.NewId()));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("token-expired", body["error"]!.GetValue<string>());
        (status, body) = await sim.ValidateAsync(unscoped.AccessToken, Challenge(SimulatorFixture.NewId()));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("insufficient-scope", body["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_lost_answer_still_opens_the_challenge_and_the_resend_is_refused_or_opens_another(bool deduplicate)
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await sim.SetBehavioursAsync(new { deduplicate_ids = deduplicate });
        using (var rule = await sim.PostJsonAsync("/simulator/faults", new { plan = new { post = "answer_lost" } }))
        {
            rule.EnsureSuccessStatusCode();
        }

        var id = SimulatorFixture.NewId();
        using (var lost = await sim.PostChallengeAsync(tokens.AccessToken, Challenge(id)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, lost.StatusCode);
            Assert.Equal("", await lost.Content.ReadAsStringAsync());
        }

        var made = Assert.Single(await ChallengesAsync(id))!;
        Assert.Equal("pending", made["status"]!.GetValue<string>());
        var vivoId = made["vivo_id"]!.GetValue<string>();

        // The relying party, never told the vivo_id, sends the same id again.
        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id));
        if (deduplicate)
        {
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal("duplicate-id", body["error"]!.GetValue<string>());
            Assert.Single(await ChallengesAsync(id));
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.NotEqual(vivoId, body["vivo_id"]!.GetValue<string>());
            Assert.Equal(2, (await ChallengesAsync(id)).Count);
        }

        // The member can tap the challenge whose answer was lost, and its callback comes as usual.
        using (var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap"))
        {
            tap.EnsureSuccessStatusCode();
        }

        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.True(callback.Body["success"]!.GetValue<bool>());
        Assert.Equal(id, callback.Body["id"]!.GetValue<string>());
    }

    private object Challenge(string id) =>
        new { message = "Withdraw 1 ETH to 0xAb5801…eC9B", id, timeout = 60, callback = sim.Receiver.CallbackUrl };

    private async Task<string> AcceptedAsync(string accessToken, string id)
    {
        var (status, body) = await sim.ValidateAsync(accessToken, Challenge(id));
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        return body["vivo_id"]!.GetValue<string>();
    }

    private async Task<JsonArray> ChallengesAsync(string id) =>
        (await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/challenges?id={Uri.EscapeDataString(id)}"))!;
}
