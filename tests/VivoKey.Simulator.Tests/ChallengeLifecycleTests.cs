using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>What the member does, or does not do, and the callback each outcome sends.</summary>
public sealed partial class ChallengeLifecycleTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task A_tap_sends_a_success_callback_with_exactly_the_reference_keys()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);
        var challenge = await sim.ChallengeAsync(vivoId);

        using var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        Assert.Equal(HttpStatusCode.OK, tap.StatusCode);

        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.Equal(["success", "vivo_id", "id"], callback.Body.Select(p => p.Key));
        Assert.True(callback.Body["success"]!.GetValue<bool>());
        Assert.Equal(challenge["id"]!.GetValue<string>(), callback.Body["id"]!.GetValue<string>());
        Assert.Equal("success", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());
        var logged = Assert.Single((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min=1&wait_seconds=10"))!);
        Assert.Equal(200, logged!["status_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_decline_sends_a_declined_callback()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        using var decline = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/decline");
        Assert.Equal(HttpStatusCode.OK, decline.StatusCode);

        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.Equal(["success", "message", "error", "vivo_id", "id"], callback.Body.Select(p => p.Key));
        Assert.False(callback.Body["success"]!.GetValue<bool>());
        Assert.Equal("declined", callback.Body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_challenge_ends_once_so_a_second_tap_or_decline_is_refused_and_sends_nothing()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        var first = sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        var second = sim.PostJsonAsync($"/simulator/challenges/{vivoId}/decline");
        var statuses = (await Task.WhenAll(first, second)).Select(r => r.StatusCode).Order().ToList();

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], statuses);
        Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        using var again = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Single(sim.Receiver.For(vivoId));
    }

    [Fact]
    public async Task An_unknown_challenge_cannot_be_tapped()
    {
        using var tap = await sim.PostJsonAsync("/simulator/challenges/not-a-vivo-id/tap");
        Assert.Equal(HttpStatusCode.NotFound, tap.StatusCode);
    }

    [Fact]
    public async Task A_tap_after_the_token_expired_sends_a_token_expired_callback()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Bob);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);
        using (var expire = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Bob}/expire-tokens"))
        {
            expire.EnsureSuccessStatusCode();
        }

        using var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        Assert.Equal(HttpStatusCode.OK, tap.StatusCode);

        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.False(callback.Body["success"]!.GetValue<bool>());
        Assert.Equal("token-expired", callback.Body["error"]!.GetValue<string>());
        Assert.Equal("token_expired", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_receiver_error_is_logged_and_the_callback_is_not_retried()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken, callback: sim.Receiver.FailingCallbackUrl);

        using var tap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        tap.EnsureSuccessStatusCode();

        Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        var logged = Assert.Single((await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min=1&wait_seconds=10"))!);
        Assert.Equal(500, logged!["status_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_phone_page_lists_a_pending_challenge_and_its_tap_button_approves_it()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken, message: "Send 2 ETH to Bob <b>now</b>");

        var page = await sim.Http.GetStringAsync($"/phone?member={SimulatorFixture.Alice}");
        Assert.Contains("Send 2 ETH to Bob &lt;b&gt;now&lt;/b&gt;", page, StringComparison.Ordinal);
        var action = FormActions(page).Single(a => a.Contains(vivoId, StringComparison.Ordinal) && a.Contains("/tap", StringComparison.Ordinal));

        using var tap = await sim.Http.PostAsync(WebUtility.HtmlDecode(action), null);
        Assert.Equal(HttpStatusCode.Redirect, tap.StatusCode);

        Assert.True(Assert.Single(await sim.Receiver.WaitForAsync(vivoId)).Body["success"]!.GetValue<bool>());
        Assert.DoesNotContain(vivoId, await sim.Http.GetStringAsync($"/phone?member={SimulatorFixture.Alice}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Challenges_can_be_listed_by_member_and_status()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Bob);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken);

        var pending = (await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={SimulatorFixture.Bob}&status=pending"))!;
        Assert.Contains(pending, c => c!["vivo_id"]!.GetValue<string>() == vivoId);
        var ofAlice = (await sim.Http.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={SimulatorFixture.Alice}"))!;
        Assert.DoesNotContain(ofAlice, c => c!["vivo_id"]!.GetValue<string>() == vivoId);
    }

    private static IEnumerable<string> FormActions(string html) =>
        FormAction().Matches(html).Select(m => m.Groups[1].Value);

    [GeneratedRegex("<form[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();
}

/// <summary>Deadlines, on a simulator of their own whose clock these tests move forward.</summary>
public sealed class ChallengeDeadlineTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Nobody_acting_sends_a_timeout_callback_at_the_deadline_and_not_before()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var vivoId = await sim.AcceptedChallengeAsync(tokens.AccessToken, timeout: 30);

        await sim.AdvanceClockAsync(20);
        Assert.Equal("pending", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());
        Assert.Empty(sim.Receiver.For(vivoId));

        await sim.AdvanceClockAsync(11);
        var callback = Assert.Single(await sim.Receiver.WaitForAsync(vivoId));
        Assert.False(callback.Body["success"]!.GetValue<bool>());
        Assert.Equal("timeout", callback.Body["error"]!.GetValue<string>());
        Assert.Equal("timeout", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());

        using var lateTap = await sim.PostJsonAsync($"/simulator/challenges/{vivoId}/tap");
        Assert.Equal(HttpStatusCode.Conflict, lateTap.StatusCode);
    }

    [Fact]
    public async Task An_access_token_past_its_lifetime_is_refused_as_token_expired()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Bob);
        Assert.InRange(tokens.ExpiresIn, 3590, 3600);

        await sim.AdvanceClockAsync(3601);

        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, new { message = "Too late", id = SimulatorFixture.NewId(), callback = sim.Receiver.CallbackUrl });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("token-expired", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_clock_only_moves_forward()
    {
        using var response = await sim.PostJsonAsync("/simulator/clock/advance", new { seconds = -5 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
