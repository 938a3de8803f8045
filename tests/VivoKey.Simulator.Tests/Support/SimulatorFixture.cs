using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

using Exchange.Testing;

namespace VivoKey.Simulator.Tests.Support;

public sealed record TokenSet(string AccessToken, string IdToken, string? RefreshToken, int ExpiresIn, string Scope);

/// <summary>
/// A running simulator on a loopback port of its own, with a callback receiver and a registered
/// test client. Each test class gets its own, so moving one simulator's clock touches no other test.
/// </summary>
public class SimulatorFixture : IAsyncLifetime
{
    public const string ClientId = "test-rp";
    // 32 bytes or more: with Simulator:IdTokenAlgorithm=HS256 it is the ID token's key, and
    // Microsoft.IdentityModel refuses an HS256 key shorter than 256 bits.
    public const string ClientSecret = "test-rp-secret-0123456789abcdefghij";
    public const string OtherClientId = "other-rp";
    public const string Alice = "alice";
    public const string Bob = "bob";

    private WebApplication? _simulator;

    public string SimulatorUrl { get; private set; } = "";
    public string Issuer => SimulatorUrl + "/openid";
    public string RelyingPartyUrl { get; private set; } = "";
    public string RedirectUri => RelyingPartyUrl + "/signin-oidc";
    public CallbackReceiver Receiver { get; private set; } = null!;

    /// <summary>A client for the simulator that does not follow redirects.</summary>
    public HttpClient Http { get; private set; } = null!;

    protected virtual bool AutoTap => true;

    /// <summary>Settings a fixture adds to (or changes in) the ones every test simulator starts with.</summary>
    protected virtual IReadOnlyDictionary<string, string?> MoreSettings { get; } = new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        // A port chosen free may be taken before our server binds it: then start again on others.
        for (var attempt = 1; ; attempt++)
        {
            SimulatorUrl = $"http://127.0.0.1:{FreePort.Next()}";
            RelyingPartyUrl = $"http://127.0.0.1:{FreePort.Next()}";
            Receiver = new CallbackReceiver(FreePort.Next());
            try
            {
                await StartAsync();
                Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(SimulatorUrl) };
                return;
            }
            catch (Exception ex) when (attempt < 5 && FreePort.IsAddressInUse(ex))
            {
                await StopAsync();
            }
        }
    }

    private async Task StartAsync()
    {
        await Receiver.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = SimulatorUrl,
            ["Simulator:PublicUrl"] = SimulatorUrl,
            ["Simulator:AutoTap"] = AutoTap ? "true" : "false",
            ["Simulator:DeadlineScanMilliseconds"] = "25",
            ["Simulator:Clients:0:ClientId"] = ClientId,
            ["Simulator:Clients:0:ClientSecret"] = ClientSecret,
            ["Simulator:Clients:0:DisplayName"] = "Test Exchange",
            ["Simulator:Clients:0:RedirectUris:0"] = RedirectUri,
            ["Simulator:Clients:0:CallbackUrls:0"] = Receiver.CallbackUrl,
            ["Simulator:Clients:0:CallbackUrls:1"] = Receiver.FailingCallbackUrl,
            ["Simulator:Clients:1:ClientId"] = OtherClientId,
            ["Simulator:Clients:1:ClientSecret"] = "other-rp-secret",
            ["Simulator:Clients:1:RedirectUris:0"] = RelyingPartyUrl + "/other",
            ["Simulator:Clients:1:CallbackUrls:0"] = Receiver.BaseUrl + "/other",
            ["Simulator:Members:0:Subject"] = Alice,
            ["Simulator:Members:0:Name"] = "Alice Member",
            ["Simulator:Members:0:Email"] = "alice@example.test",
            ["Simulator:Members:1:Subject"] = Bob,
            ["Simulator:Members:1:Name"] = "Bob Member",
            ["Simulator:Members:1:Email"] = "bob@example.test",
        };
        foreach (var (key, value) in MoreSettings)
        {
            settings[key] = value;
        }

        _simulator = SimulatorApp.Build([], builder =>
        {
            // Only the settings above: nothing from the simulator's appsettings.json or the environment.
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await _simulator.StartAsync();
        await OnStartedAsync();
    }

    protected virtual Task OnStartedAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        await StopAsync();
    }

    protected virtual async Task StopAsync()
    {
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
            _simulator = null;
        }

        await Receiver.DisposeAsync();
    }

    /// <summary>The authorization-code flow with PKCE S256, by hand: AutoTap answers the authorize request at once.</summary>
    public async Task<TokenSet> LoginAsync(string member, string scope = "openid profile email Validate")
    {
        var (verifier, challenge) = Pkce();
        var authorize = QueryHelpers.AddQueryString(Issuer + "/authorize/", new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = ClientId,
            ["redirect_uri"] = RedirectUri,
            ["scope"] = scope,
            ["state"] = "state-" + member,
            ["nonce"] = "nonce-" + member,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
            ["login_hint"] = member,
        });
        using var response = await Http.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = QueryHelpers.ParseQuery(response.Headers.Location!.Query);
        Assert.Equal("state-" + member, query["state"].ToString());
        return await RedeemCodeAsync(query["code"].ToString(), verifier);
    }

    public async Task<TokenSet> RedeemCodeAsync(string code, string verifier)
    {
        using var response = await Http.PostAsync(Issuer + "/token/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
            ["client_id"] = ClientId,
            ["client_secret"] = ClientSecret,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        return ToTokenSet(body!);
    }

    public async Task<HttpResponseMessage> RefreshAsync(string refreshToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token/")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = refreshToken,
            }),
        };
        // Client authentication by HTTP Basic this time (the code exchange above uses the form).
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ClientId}:{ClientSecret}")));
        return await Http.SendAsync(request);
    }

    public static TokenSet ToTokenSet(JsonObject body) => new(
        body["access_token"]!.GetValue<string>(),
        body["id_token"]?.GetValue<string>() ?? "",
        body["refresh_token"]?.GetValue<string>(),
        body["expires_in"]!.GetValue<int>(),
        body["scope"]?.GetValue<string>() ?? "");

    public static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>POSTs a challenge to the Validation API as a relying party would.</summary>
    public async Task<(HttpStatusCode Status, JsonObject Body)> ValidateAsync(string? accessToken, object body, string path = "/v1.0/validate/")
    {
        using var response = await PostChallengeAsync(accessToken, body, path);
        return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    /// <summary>The same POST, answered as it came: for answers that are not the reference's JSON.</summary>
    public async Task<HttpResponseMessage> PostChallengeAsync(string? accessToken, object body, string path = "/v1.0/validate/")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Changes the behaviour switches (PUT /simulator/behaviours) and returns them as they now are.</summary>
    public async Task<JsonObject> SetBehavioursAsync(object change)
    {
        using var response = await Http.PutAsJsonAsync("/simulator/behaviours", change);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return body;
    }

    /// <summary>A challenge that the simulator accepted, for tests about what happens next.</summary>
    public async Task<string> AcceptedChallengeAsync(string accessToken, int? timeout = null, string? callback = null, string? message = null)
    {
        var (status, body) = await ValidateAsync(accessToken, new
        {
            message = message ?? "Withdraw 1.5 ETH to 0x71C7…976F",
            id = NewId(),
            timeout,
            callback = callback ?? Receiver.CallbackUrl,
        });
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        Assert.True(body["accepted"]!.GetValue<bool>());
        return body["vivo_id"]!.GetValue<string>();
    }

    public static string NewId() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public async Task<JsonObject> ChallengeAsync(string vivoId) =>
        (await Http.GetFromJsonAsync<JsonObject>($"/simulator/challenges/{vivoId}"))!;

    public async Task<HttpResponseMessage> PostJsonAsync(string path, object? body = null) =>
        await Http.PostAsync(path, body is null ? null : JsonContent.Create(body));

    public async Task AdvanceClockAsync(double seconds)
    {
        using var response = await PostJsonAsync("/simulator/clock/advance", new { seconds });
        response.EnsureSuccessStatusCode();
    }
}
