using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using VivoKey.Simulator.Tests.Support;

namespace VivoKey.Simulator.Tests;

/// <summary>Sign-in with VivoKey through a real relying party, by AutoTap and through the pages.</summary>
public sealed partial class OpenIdConnectTests(RelyingPartyFixture sim) : IClassFixture<RelyingPartyFixture>
{
    [Fact]
    public async Task Discovery_names_the_real_services_paths_with_S256_and_RS256_only()
    {
        var discovery = (await sim.Http.GetFromJsonAsync<JsonObject>("/openid/.well-known/openid-configuration"))!;
        Assert.Equal(sim.Issuer, discovery["issuer"]!.GetValue<string>());
        Assert.Equal(sim.Issuer + "/authorize/", discovery["authorization_endpoint"]!.GetValue<string>());
        Assert.Equal(sim.Issuer + "/token/", discovery["token_endpoint"]!.GetValue<string>());
        Assert.Equal(sim.Issuer + "/userinfo/", discovery["userinfo_endpoint"]!.GetValue<string>());
        Assert.Equal(sim.Issuer + "/jwks/", discovery["jwks_uri"]!.GetValue<string>());
        Assert.Equal(["S256"], Strings(discovery["code_challenge_methods_supported"]));
        Assert.Equal(["RS256"], Strings(discovery["id_token_signing_alg_values_supported"]));
        Assert.Contains("Validate", Strings(discovery["scopes_supported"]));
        Assert.Contains("client_secret_basic", Strings(discovery["token_endpoint_auth_methods_supported"]));
        Assert.Contains("client_secret_post", Strings(discovery["token_endpoint_auth_methods_supported"]));
    }

    [Fact]
    public async Task AutoTap_signs_a_relying_party_in_with_a_valid_RS256_id_token_and_the_granted_claims()
    {
        using var browser = sim.Browser();
        using var response = await browser.GetAsync($"/login?login_hint={SimulatorFixture.Alice}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode} {response.RequestMessage!.RequestUri} {text}");
        Assert.True(text.Length > 0, $"{response.StatusCode} {response.RequestMessage!.RequestUri} {response.Content.Headers.ContentType}");
        var me = JsonNode.Parse(text)!.AsObject();

        var claims = me["claims"]!.AsObject();
        Assert.Equal(SimulatorFixture.Alice, claims["sub"]!.GetValue<string>());
        Assert.Equal("Alice Member", claims["name"]!.GetValue<string>());
        Assert.Equal("alice@example.test", claims["email"]!.GetValue<string>());
        Assert.Equal("false", claims["email_verified"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(me["refresh_token"]?.GetValue<string>()));

        // Validate the ID token ourselves against the JWKS: signature, issuer, audience, lifetime, RS256.
        var idToken = me["id_token"]!.GetValue<string>();
        var jwks = new JsonWebKeySet(await sim.Http.GetStringAsync("/openid/jwks/"));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = sim.Issuer,
            ValidAudience = SimulatorFixture.ClientId,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = ["RS256"],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var token = (JsonWebToken)result.SecurityToken;
        Assert.Equal("RS256", token.Alg);
        Assert.Equal(SimulatorFixture.Alice, token.Subject);
        Assert.True(token.TryGetPayloadValue<string>("nonce", out var nonce) && nonce.Length > 0);

        // The same token with its algorithm switched to HS256 fails (no algorithm confusion).
        var parts = idToken.Split('.');
        var forged = Base64UrlEncoder.Encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + parts[1] + "." + parts[2];
        var forgedResult = await new JsonWebTokenHandler().ValidateTokenAsync(forged, new TokenValidationParameters
        {
            ValidIssuer = sim.Issuer,
            ValidAudience = SimulatorFixture.ClientId,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = ["RS256"],
        });
        Assert.False(forgedResult.IsValid);
    }

    [Fact]
    public async Task A_member_signs_in_through_the_tap_and_consent_pages()
    {
        using var browser = sim.Browser();
        // No login_hint: the tap page lists the members.
        using var tapPage = await browser.GetAsync("/login");
        var html = await tapPage.Content.ReadAsStringAsync();
        Assert.Contains("Tap your VivoKey", html, StringComparison.Ordinal);
        var tapForm = Forms(html).Single(f => f.Fields.GetValueOrDefault("vk_member") == SimulatorFixture.Bob);

        using var consentPage = await browser.PostAsync(new Uri(tapPage.RequestMessage!.RequestUri!, tapForm.Action), new FormUrlEncodedContent(tapForm.Fields));
        var consent = await consentPage.Content.ReadAsStringAsync();
        Assert.Contains("Test Exchange", consent, StringComparison.Ordinal);
        Assert.Contains("Your full name (unverified)", consent, StringComparison.Ordinal);
        Assert.Contains("Your email address (unverified)", consent, StringComparison.Ordinal);
        Assert.Contains("Ask you to confirm actions by tapping your VivoKey", consent, StringComparison.Ordinal);

        var accept = Forms(consent).Single();
        var fields = new Dictionary<string, string>(accept.Fields) { ["vk_decision"] = "accept" };
        using var signedIn = await browser.PostAsync(new Uri(consentPage.RequestMessage!.RequestUri!, accept.Action), new FormUrlEncodedContent(fields));
        var me = (await signedIn.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(SimulatorFixture.Bob, me["claims"]!["sub"]!.GetValue<string>());
        Assert.Equal("Bob Member", me["claims"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deny_on_the_consent_page_returns_access_denied_to_the_relying_party()
    {
        using var browser = sim.Browser();
        using var tapPage = await browser.GetAsync("/login");
        var tapForm = Forms(await tapPage.Content.ReadAsStringAsync()).Single(f => f.Fields.GetValueOrDefault("vk_member") == SimulatorFixture.Alice);
        using var consentPage = await browser.PostAsync(new Uri(tapPage.RequestMessage!.RequestUri!, tapForm.Action), new FormUrlEncodedContent(tapForm.Fields));
        var deny = Forms(await consentPage.Content.ReadAsStringAsync()).Single();
        var fields = new Dictionary<string, string>(deny.Fields) { ["vk_decision"] = "deny" };

        // Without following the redirect: the simulator sends the browser back with error=access_denied.
        using var direct = await sim.Http.PostAsync(new Uri(consentPage.RequestMessage!.RequestUri!, deny.Action), new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Redirect, direct.StatusCode);
        var location = direct.Headers.Location!;
        Assert.StartsWith(sim.RedirectUri, location.ToString(), StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.Equal("access_denied", query["error"].ToString());
        Assert.False(query.ContainsKey("code"));

        // Through the browser, the relying party sees the failure.
        using var failed = await browser.PostAsync(new Uri(consentPage.RequestMessage!.RequestUri!, deny.Action), new FormUrlEncodedContent(fields));
        var body = (await failed.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Contains("access_denied", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Userinfo_returns_only_the_claims_of_the_granted_scopes()
    {
        var full = await sim.LoginAsync(SimulatorFixture.Alice);
        var all = await UserInfo(full.AccessToken);
        Assert.Equal(SimulatorFixture.Alice, all["sub"]!.GetValue<string>());
        Assert.Equal("Alice Member", all["name"]!.GetValue<string>());
        Assert.Equal("alice@example.test", all["email"]!.GetValue<string>());
        Assert.False(all["email_verified"]!.GetValue<bool>());

        var bare = await UserInfo((await sim.LoginAsync(SimulatorFixture.Alice, "openid")).AccessToken);
        Assert.Equal(SimulatorFixture.Alice, bare["sub"]!.GetValue<string>());
        Assert.Null(bare["name"]);
        Assert.Null(bare["email"]);
    }

    [Fact]
    public async Task A_refresh_token_with_Basic_client_authentication_yields_a_new_access_token_the_Validation_API_accepts()
    {
        var first = await sim.LoginAsync(SimulatorFixture.Alice);
        Assert.NotNull(first.RefreshToken);

        using var response = await sim.RefreshAsync(first.RefreshToken!);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        var refreshed = SimulatorFixture.ToTokenSet(body);
        Assert.NotEqual(first.AccessToken, refreshed.AccessToken);
        Assert.Contains("Validate", refreshed.Scope.Split(' '));

        var vivoId = await sim.AcceptedChallengeAsync(refreshed.AccessToken);
        Assert.Equal("pending", (await sim.ChallengeAsync(vivoId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_wrong_client_secret_or_code_verifier_gets_no_tokens()
    {
        var (verifier, challenge) = SimulatorFixture.Pkce();
        var code = await AuthorizeAsync(challenge, "S256");

        using var wrongVerifier = await sim.Http.PostAsync(sim.Issuer + "/token/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = sim.RedirectUri,
            ["code_verifier"] = verifier + "x", ["client_id"] = SimulatorFixture.ClientId, ["client_secret"] = SimulatorFixture.ClientSecret,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, wrongVerifier.StatusCode);
        Assert.Equal("invalid_grant", (await wrongVerifier.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());

        var (verifier2, challenge2) = SimulatorFixture.Pkce();
        var code2 = await AuthorizeAsync(challenge2, "S256");
        using var wrongSecret = await sim.Http.PostAsync(sim.Issuer + "/token/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code2, ["redirect_uri"] = sim.RedirectUri,
            ["code_verifier"] = verifier2, ["client_id"] = SimulatorFixture.ClientId, ["client_secret"] = "not-the-secret",
        }));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);
        Assert.Equal("invalid_client", (await wrongSecret.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("plain")]
    public async Task An_authorize_request_without_a_S256_code_challenge_is_refused(string? method)
    {
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = SimulatorFixture.ClientId, ["redirect_uri"] = sim.RedirectUri,
            ["scope"] = "openid", ["state"] = "s", ["nonce"] = "n", ["login_hint"] = SimulatorFixture.Alice,
        };
        if (method is not null)
        {
            query["code_challenge"] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
            query["code_challenge_method"] = method;
        }

        using var response = await sim.Http.GetAsync(QueryHelpers.AddQueryString(sim.Issuer + "/authorize/", query));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode} {response.Headers.Location} {body}");
        Assert.Contains("invalid_request", body, StringComparison.Ordinal);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task An_unregistered_redirect_uri_is_not_redirected_to()
    {
        var (_, challenge) = SimulatorFixture.Pkce();
        using var response = await sim.Http.GetAsync(QueryHelpers.AddQueryString(sim.Issuer + "/authorize/", new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = SimulatorFixture.ClientId, ["redirect_uri"] = "http://127.0.0.1:1/steal",
            ["scope"] = "openid", ["state"] = "s", ["nonce"] = "n", ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
            ["login_hint"] = SimulatorFixture.Alice,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    private async Task<string> AuthorizeAsync(string challenge, string method)
    {
        using var response = await sim.Http.GetAsync(QueryHelpers.AddQueryString(sim.Issuer + "/authorize/", new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = SimulatorFixture.ClientId, ["redirect_uri"] = sim.RedirectUri,
            ["scope"] = "openid", ["state"] = "s", ["nonce"] = "n", ["code_challenge"] = challenge, ["code_challenge_method"] = method,
            ["login_hint"] = SimulatorFixture.Alice,
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return QueryHelpers.ParseQuery(response.Headers.Location!.Query)["code"].ToString();
    }

    private async Task<JsonObject> UserInfo(string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openid/userinfo/");
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await sim.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static List<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToList();

    private sealed record HtmlForm(string Action, Dictionary<string, string> Fields);

    private static List<HtmlForm> Forms(string html) =>
        FormPattern().Matches(html).Select(m => new HtmlForm(
            WebUtility.HtmlDecode(m.Groups["action"].Value),
            InputPattern().Matches(m.Groups["body"].Value)
                .Where(i => i.Groups["type"].Value == "hidden")
                .ToDictionary(i => WebUtility.HtmlDecode(i.Groups["name"].Value), i => WebUtility.HtmlDecode(i.Groups["value"].Value))))
            .ToList();

    [GeneratedRegex("<form[^>]*action=\"(?<action>[^\"]*)\"[^>]*>(?<body>.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex FormPattern();

    [GeneratedRegex("<input type=\"(?<type>[^\"]*)\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex InputPattern();
}
