using System.Net;
using System.Text;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>Each limit of the Validation API, just inside and just past its edge.</summary>
public sealed class ValidationApiTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private object Challenge(string? message = "Confirm it", string? id = null, object? timeout = null, string? callback = null) =>
        new Dictionary<string, object?>
        {
            ["message"] = message,
            ["id"] = id ?? SimulatorFixture.NewId(),
            ["timeout"] = timeout ?? 60,
            ["callback"] = callback ?? sim.Receiver.CallbackUrl,
        };

    [Fact]
    public async Task A_valid_challenge_is_accepted_with_a_vivo_id_at_both_paths()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        foreach (var path in new[] { "/v1.0/validate/", "/api/v1.0/validate/", "/v1.0/validate" })
        {
            var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(), path);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(body["accepted"]!.GetValue<bool>());
            Assert.False(string.IsNullOrEmpty(body["vivo_id"]!.GetValue<string>()));
            Assert.Equal(2, body.Count);
        }
    }

    [Fact]
    public async Task A_message_of_60_characters_is_accepted_and_61_refused()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(tokens.AccessToken, Challenge(new string('m', 60)))).Status);
        // Characters, not UTF-16 units: 59 letters and one emoji (two UTF-16 units) make 60.
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(tokens.AccessToken, Challenge(new string('m', 59) + "\U0001F511"))).Status);
        await AssertRefused(tokens.AccessToken, Challenge(new string('m', 61)), "invalid-message");
        await AssertRefused(tokens.AccessToken, Challenge(""), "invalid-message");
        await AssertRefused(tokens.AccessToken, Challenge(message: null), "invalid-message");
    }

    [Fact]
    public async Task An_id_of_256_characters_is_accepted_and_257_refused()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(tokens.AccessToken, Challenge(id: RandomId(256)))).Status);
        await AssertRefused(tokens.AccessToken, Challenge(id: RandomId(257)), "invalid-id");
        await AssertRefused(tokens.AccessToken, Challenge(id: ""), "invalid-id");
    }

    [Fact]
    public async Task A_repeated_id_is_refused_for_the_same_client()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var id = SimulatorFixture.NewId();
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(tokens.AccessToken, Challenge(id: id))).Status);
        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id: id));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("duplicate-id", body["error"]!.GetValue<string>());
        Assert.Single(await Challenges(id));
    }

    [Theory]
    [InlineData(29, false)]
    [InlineData(30, true)]
    [InlineData(86400, true)]
    [InlineData(86401, false)]
    [InlineData(0, false)]
    [InlineData(-60, false)]
    public async Task Timeout_must_be_from_30_to_86400_seconds(int timeout, bool accepted)
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var id = SimulatorFixture.NewId();
        var request = Challenge(id: id, timeout: timeout);
        if (accepted)
        {
            var before = DateTimeOffset.Parse((await (await sim.Http.GetAsync("/simulator/clock")).Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["now"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(tokens.AccessToken, request)).Status);
            var challenge = Assert.Single(await Challenges(id));
            var deadline = challenge!["deadline"]!.GetValue<DateTimeOffset>();
            Assert.InRange((deadline - before).TotalSeconds, timeout - 1, timeout + 5);
        }
        else
        {
            await AssertRefused(tokens.AccessToken, request, "invalid-timeout");
        }
    }

    [Fact]
    public async Task A_timeout_that_is_not_a_whole_number_is_refused()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AssertRefused(tokens.AccessToken, Challenge(timeout: "60"), "invalid-timeout");
        await AssertRefused(tokens.AccessToken, Challenge(timeout: 60.5), "invalid-timeout");
    }

    [Fact]
    public async Task No_timeout_means_60_seconds()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        var id = SimulatorFixture.NewId();
        var (status, _) = await sim.ValidateAsync(tokens.AccessToken, new { message = "No timeout given", id, callback = sim.Receiver.CallbackUrl });
        Assert.Equal(HttpStatusCode.OK, status);
        var challenge = Assert.Single(await Challenges(id));
        var lifetime = challenge!["deadline"]!.GetValue<DateTimeOffset>() - challenge["created_at"]!.GetValue<DateTimeOffset>();
        Assert.Equal(TimeSpan.FromSeconds(60), lifetime);
    }

    [Fact]
    public async Task An_unregistered_callback_is_refused_even_if_another_client_registered_it()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        await AssertRefused(tokens.AccessToken, Challenge(callback: "http://127.0.0.1:1/elsewhere"), "invalid-callback");
        await AssertRefused(tokens.AccessToken, Challenge(callback: sim.Receiver.BaseUrl + "/other"), "invalid-callback");
        await AssertRefused(tokens.AccessToken, Challenge(callback: sim.Receiver.CallbackUrl + "/"), "invalid-callback");
    }

    [Fact]
    public async Task A_token_without_the_Validate_scope_is_refused()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice, "openid profile email");
        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge());
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.False(body["accepted"]!.GetValue<bool>());
        Assert.Equal("insufficient-scope", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_expired_token_is_refused_as_token_expired()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Bob);
        using (var expire = await sim.PostJsonAsync($"/simulator/members/{SimulatorFixture.Bob}/expire-tokens"))
        {
            expire.EnsureSuccessStatusCode();
            var result = await expire.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
            Assert.True(result!["expired"]!.GetValue<int>() >= 1, result.ToJsonString());
        }

        var id = SimulatorFixture.NewId();
        var (status, body) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id: id));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(body["accepted"]!.GetValue<bool>());
        Assert.Equal("token-expired", body["error"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["message"]!.GetValue<string>()));
        Assert.Empty(await Challenges(id));

        // A refresh token still yields a token that works: what a relying party does next.
        using var refreshed = await sim.RefreshAsync(tokens.RefreshToken!);
        var fresh = SimulatorFixture.ToTokenSet((await refreshed.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!);
        Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(fresh.AccessToken, Challenge())).Status);
    }

    [Fact]
    public async Task A_missing_or_unknown_token_is_refused_as_invalid()
    {
        var (status, body) = await sim.ValidateAsync(null, Challenge());
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid-token", body["error"]!.GetValue<string>());

        (status, body) = await sim.ValidateAsync("fdd3b2f5ef1f35ecb5317da0068bdef0", Challenge());
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid-token", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_that_is_not_a_json_dictionary_is_refused()
    {
        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        foreach (var raw in new[] { "not json", "[1,2]", "\"text\"", "" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1.0/validate/") { Content = new StringContent(raw, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new("Bearer", tokens.AccessToken);
            using var response = await sim.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
            Assert.Equal("invalid-request", body!["error"]!.GetValue<string>());
        }
    }

    private async Task AssertRefused(string accessToken, object request, string error)
    {
        var (status, body) = await sim.ValidateAsync(accessToken, request);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(body["accepted"]!.GetValue<bool>());
        Assert.Equal(error, body["error"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["message"]!.GetValue<string>()));
        Assert.Equal(3, body.Count);
    }

    private async Task<System.Text.Json.Nodes.JsonArray> Challenges(string id) =>
        (await sim.Http.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>($"/simulator/challenges?id={Uri.EscapeDataString(id)}"))!;

    private static string RandomId(int length)
    {
        var id = new StringBuilder();
        while (id.Length < length)
        {
            id.Append(SimulatorFixture.NewId());
        }

        return id.ToString(0, length);
    }
}
