using System.Net;
using System.Text.Json.Nodes;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>
/// The token switches turned at run time (PUT /simulator/behaviours, the revoke-tokens control):
/// refresh tokens issued or not, a refresh that revokes the earlier tokens, a member who revokes the app.
/// </summary>
public sealed class TokenBehaviourTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>, IAsyncLifetime
{
    public async Task InitializeAsync() =>
        await sim.SetBehavioursAsync(new { issue_refresh_tokens = true, refresh_revokes_previous = false, deduplicate_ids = true });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_switches_start_at_the_defaults_and_the_algorithm_cannot_change_at_run_time()
    {
        var behaviours = (await sim.Http.GetFromJsonAsync<JsonObject>("/simulator/behaviours"))!;
        Assert.Equal(
            """{"issue_refresh_tokens":true,"refresh_revokes_previous":false,"deduplicate_ids":true,"id_token_algorithm":"RS256"}""",
            behaviours.ToJsonString());

        // A PUT naming another algorithm is refused whole: the switch beside it does not change either.
        using (var refused = await sim.Http.PutAsJsonAsync("/simulator/behaviours", new { deduplicate_ids = false, id_token_algorithm = "HS256" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("start-up", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.True((await sim.Http.GetFromJsonAsync<JsonObject>("/simulator/behaviours"))!["deduplicate_ids"]!.GetValue<bool>());

        var changed = await sim.SetBehavioursAsync(new { refresh_revokes_previous = true, id_token_algorithm = "RS256" });
        Assert.True(changed["refresh_revokes_previous"]!.GetValue<bool>());
        Assert.True(changed["issue_refresh_tokens"]!.GetValue<bool>());
    }

    [Fact]
    public async Task With_refresh_tokens_off_the_code_grant_answers_none_even_when_offline_access_is_asked_for()
    {
        await sim.SetBehavioursAsync(new { issue_refresh_tokens = false });

        var plain = await sim.LoginAsync(SimulatorFixture.Alice);
        Assert.Null(plain.RefreshToken);
        Assert.DoesNotContain("offline_access", plain.Scope.Split(' '));
        var asked = await sim.LoginAsync(SimulatorFixture.Alice, "openid profile email Validate offline_access");
        Assert.Null(asked.RefreshToken);

        // The access token works as ever.
        Assert.Equal("pending", (await sim.ChallengeAsync(await sim.AcceptedChallengeAsync(plain.AccessToken)))["status"]!.GetValue<string>());

        await sim.SetBehavioursAsync(new { issue_refresh_tokens = true });
        Assert.NotNull((await sim.LoginAsync(SimulatorFixture.Alice)).RefreshToken);
    }

    [Fact]
    public async Task By_default_a_refresh_leaves_the_earlier_tokens_working()
    {
        var first = await sim.LoginAsync(SimulatorFixture.Alice);
        var other = await sim.LoginAsync(SimulatorFixture.Alice);

        var refreshed = await RefreshAsync(first.RefreshToken!);

        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(first.AccessToken, Challenge())).Status);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(refreshed.AccessToken, Challenge())).Status);
        using var otherRefresh = await sim.RefreshAsync(other.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, otherRefresh.StatusCode);
    }

    [Fact]
    public async Task After_a_refresh_that_revokes_the_earlier_tokens_only_the_new_pair_works()
    {
        await sim.SetBehavioursAsync(new { refresh_revokes_previous = true });
        var first = await sim.LoginAsync(SimulatorFixture.Alice);
        var second = await sim.LoginAsync(SimulatorFixture.Alice);
        var bob = await sim.LoginAsync(SimulatorFixture.Bob);
        var madeWithFirst = await sim.AcceptedChallengeAsync(first.AccessToken);

        var refreshed = await RefreshAsync(first.RefreshToken!);

        // Every earlier token of Alice's for this client is dead, from either sign-in; the reference's error for it.
        foreach (var old in new[] { first.AccessToken, second.AccessToken })
        {
            var (status, body) = await sim.ValidateAsync(old, Challenge());
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("token-expired", body["error"]!.GetValue<string>());
        }

        foreach (var old in new[] { first.RefreshToken!, second.RefreshToken! })
        {
            using var refused = await sim.RefreshAsync(old);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_grant", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(refreshed.AccessToken, Challenge())).Status);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(bob.AccessToken, Challenge())).Status);

        // The challenge the first access token made ends as token-expired when tapped.
        using (var tap = await sim.PostJsonAsync($"/simulator/challenges/{madeWithFirst}/tap"))
        {
            tap.EnsureSuccessStatusCode();
        }

        var callback = Assert.Single(await sim.Receiver.WaitForAsync(madeWithFirst));
        Assert.Equal("token-expired", callback.Body["error"]!.GetValue<string>());

        // The new refresh token works once more, and then its own access token is the earlier one.
        var again = await RefreshAsync(refreshed.RefreshToken!);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sim.ValidateAsync(refreshed.AccessToken, Challenge())).Status);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(again.AccessToken, Challenge())).Status);
    }

    [Fact]
    public async Task A_member_who_revokes_the_app_loses_the_refresh_grant_and_the_Validation_API()
    {
        var alice = await sim.LoginAsync(SimulatorFixture.Alice);
        var bob = await sim.LoginAsync(SimulatorFixture.Bob);
        var pending = await sim.AcceptedChallengeAsync(alice.AccessToken);

        using (var revoke = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Alice}/revoke-tokens"))
        {
            var body = (await revoke.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.Equal(SimulatorFixture.Alice, body["subject"]!.GetValue<string>());
            Assert.True(body["revoked"]!.GetValue<int>() >= 2, body.ToJsonString());
        }

        using (var refresh = await sim.RefreshAsync(alice.RefreshToken!))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
            Assert.Equal("invalid_grant", (await refresh.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
        }

        var (status, refused) = await sim.ValidateAsync(alice.AccessToken, Challenge());
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("token-expired", refused["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(bob.AccessToken, Challenge())).Status);

        using (var tap = await sim.PostJsonAsync($"/simulator/challenges/{pending}/tap"))
        {
            tap.EnsureSuccessStatusCode();
        }

        Assert.Equal("token_expired", (await sim.ChallengeAsync(pending))["status"]!.GetValue<string>());

        // Nothing is left to revoke; an unknown member is not found.
        using (var again = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Alice}/revoke-tokens"))
        {
            Assert.Equal(0, (await again.Content.ReadFromJsonAsync<JsonObject>())!["revoked"]!.GetValue<int>());
        }

        using var unknown = await sim.PostJsonAsync("/simulator/members/nobody/revoke-tokens");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private object Challenge() =>
        new { message = "Withdraw 1 ETH to 0xAb5801…eC9B", id = SimulatorFixture.NewId(), timeout = 60, callback = sim.Receiver.CallbackUrl };

    private async Task<TokenSet> RefreshAsync(string refreshToken)
    {
        using var response = await sim.RefreshAsync(refreshToken);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return SimulatorFixture.ToTokenSet(body);
    }
}
