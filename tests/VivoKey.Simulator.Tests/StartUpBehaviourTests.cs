using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>Every behaviour switch set by the simulator's settings, and HS256 ID tokens, which only a setting can choose.</summary>
public sealed class StartUpBehaviourTests(SwitchedSimulatorFixture sim) : IClassFixture<SwitchedSimulatorFixture>
{
    [Fact]
    public async Task The_settings_switch_every_behaviour_at_start_up()
    {
        var behaviours = (await sim.Http.GetFromJsonAsync<JsonObject>("/simulator/behaviours"))!;
        Assert.Equal(
            """{"issue_refresh_tokens":false,"refresh_revokes_previous":true,"deduplicate_ids":false,"id_token_algorithm":"HS256"}""",
            behaviours.ToJsonString());
        var faults = (await sim.Http.GetFromJsonAsync<JsonObject>("/simulator/faults"))!;
        Assert.True(faults["run"]!["token_errors_as_status"]!.GetValue<bool>());

        var tokens = await sim.LoginAsync(SimulatorFixture.Alice);
        Assert.Null(tokens.RefreshToken);

        using (var unknown = await sim.PostChallengeAsync("not-a-token-this-service-issued", Challenge(SimulatorFixture.NewId())))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            Assert.Equal("", await unknown.Content.ReadAsStringAsync());
        }

        var id = SimulatorFixture.NewId();
        var (first, firstBody) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id));
        var (second, secondBody) = await sim.ValidateAsync(tokens.AccessToken, Challenge(id));
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first, second));
        Assert.NotEqual(firstBody["vivo_id"]!.GetValue<string>(), secondBody["vivo_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Discovery_lists_HS256_as_the_only_ID_token_algorithm()
    {
        var discovery = (await sim.Http.GetFromJsonAsync<JsonObject>("/openid/.well-known/openid-configuration"))!;
        var algorithms = discovery["id_token_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>());
        Assert.Equal(["HS256"], algorithms);
    }

    [Fact]
    public async Task An_HS256_ID_token_verifies_with_the_client_secret_and_with_no_JWKS_key()
    {
        var idToken = (await sim.LoginAsync(SimulatorFixture.Alice)).IdToken;

        Assert.Equal("""{"alg":"HS256","typ":"JWT"}""", Base64UrlEncoder.Decode(idToken.Split('.')[0]));
        var valid = await ValidateAsync(idToken, new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SimulatorFixture.ClientSecret)));
        Assert.True(valid.IsValid, valid.Exception?.Message);
        var token = (JsonWebToken)valid.SecurityToken;
        Assert.Equal(SimulatorFixture.Alice, token.Subject);
        Assert.Equal("nonce-" + SimulatorFixture.Alice, token.GetPayloadValue<string>("nonce"));
        Assert.False(string.IsNullOrEmpty(token.GetPayloadValue<string>("at_hash")));

        var jwks = new JsonWebKeySet(await sim.Http.GetStringAsync("/openid/jwks/"));
        Assert.NotEmpty(jwks.GetSigningKeys());
        Assert.False((await ValidateAsync(idToken, [.. jwks.GetSigningKeys()])).IsValid);
        Assert.False((await ValidateAsync(idToken, new SymmetricSecurityKey(Encoding.UTF8.GetBytes("other-rp-secret-0123456789abcdefghij")))).IsValid);
    }

    [Fact]
    public async Task A_refresh_answers_an_HS256_ID_token_and_revokes_the_earlier_access_token()
    {
        await sim.SetBehavioursAsync(new { issue_refresh_tokens = true });
        try
        {
            var first = await sim.LoginAsync(SimulatorFixture.Alice);
            using var response = await sim.RefreshAsync(first.RefreshToken!);
            var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
            var refreshed = SimulatorFixture.ToTokenSet(body);

            var valid = await ValidateAsync(refreshed.IdToken, new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SimulatorFixture.ClientSecret)));
            Assert.True(valid.IsValid, valid.Exception?.Message);

            // Revoked by the refresh, and token errors come as status: a 403 page.
            using var old = await sim.PostChallengeAsync(first.AccessToken, Challenge(SimulatorFixture.NewId()));
            Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
            Assert.Equal("text/html", old.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.OK, (await sim.ValidateAsync(refreshed.AccessToken, Challenge(SimulatorFixture.NewId()))).Status);
        }
        finally
        {
            await sim.SetBehavioursAsync(new { issue_refresh_tokens = false });
        }
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("hs256")]
    [InlineData("none")]
    public void An_unknown_ID_token_algorithm_stops_the_start(string algorithm)
    {
        var error = Assert.Throws<InvalidOperationException>(() => SimulatorApp.Build([], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Simulator:IdTokenAlgorithm"] = algorithm });
            builder.Logging.ClearProviders();
        }));
        Assert.Contains("Simulator:IdTokenAlgorithm", error.Message, StringComparison.Ordinal);
        Assert.Contains($"\"{algorithm}\"", error.Message, StringComparison.Ordinal);
    }

    private object Challenge(string id) =>
        new { message = "Withdraw 1 ETH to 0xAb5801…eC9B", id, timeout = 60, callback = sim.Receiver.CallbackUrl };

    private async Task<TokenValidationResult> ValidateAsync(string idToken, params SecurityKey[] keys) =>
        await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = sim.Issuer,
            ValidAudience = SimulatorFixture.ClientId,
            IssuerSigningKeys = keys,
            ValidAlgorithms = ["HS256", "RS256"],
        });
}
