using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Account;
using Exchange.Api.Common.Http;
using Exchange.Api.Tests.Support;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Tests;

/// <summary>
/// An exchange behind a TLS terminator, with the session settings of every environment but Development
/// and Testing (Exchange:HardenedSession turns them on in this Development host: the production guard
/// refuses the simulator and anvil elsewhere). The terminator says https in X-Forwarded-Proto, from loopback.
/// </summary>
public sealed class WebSessionTests(WebSessionTests.BehindTlsFixture system) : IClassFixture<WebSessionTests.BehindTlsFixture>
{
    public sealed class BehindTlsFixture : ExchangeFixture
    {
        protected override void Configure(IDictionary<string, string?> exchange) => exchange["Exchange:HardenedSession"] = "true";

        // VivoKey knows the exchange by its public https address.
        protected override void ConfigureSimulator(IDictionary<string, string?> simulator) =>
            simulator["Simulator:Clients:0:RedirectUris:1"] = TlsTerminator.HttpsOf(ExchangeUrl) + "/signin-oidc";
    }

    [Fact]
    public async Task Behind_the_TLS_terminator_the_sign_in_sends_VivoKey_an_https_redirect_uri()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(system.ExchangeUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login?returnUrl=/");
        request.Headers.Add("X-Forwarded-Proto", "https");

        using var response = await anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = QueryOf(response.Headers.Location!);
        Assert.StartsWith("https://", query["redirect_uri"], StringComparison.Ordinal);
        Assert.Equal(TlsTerminator.HttpsOf(system.ExchangeUrl) + "/signin-oidc", query["redirect_uri"]);
        // The handler's own cookies for the round trip are Secure too.
        Assert.All(response.Headers.GetValues("Set-Cookie"), cookie => Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Signed_in_over_https_the_session_cookie_is_host_prefixed_secure_and_http_only()
    {
        var subject = "vk-" + Guid.NewGuid().ToString("N")[..12];
        using (var created = await system.Simulator.PostAsJsonAsync("/simulator/members", new { subject, name = "Tess Tls", email = subject + "@example.test" }))
        {
            created.EnsureSuccessStatusCode();
        }

        TlsTerminator? terminator = null;
        using var trader = new Trader(system, subject, subject + "@example.test",
            cookies => terminator = new TlsTerminator(cookies, system.ExchangeUrl), TlsTerminator.HttpsOf(system.ExchangeUrl));

        await trader.SignInAsync();

        var session = Assert.Single(terminator!.SetCookies, c => c.StartsWith(WebSession.HardenedCookieName + "=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.Ordinal));
        var attributes = session.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("path=/", attributes);
        Assert.Contains("samesite=lax", attributes);
        Assert.DoesNotContain(attributes, a => a.StartsWith("domain=", StringComparison.Ordinal));
        Assert.DoesNotContain(terminator.SetCookies, c => c.StartsWith(WebSession.CookieName + "=", StringComparison.Ordinal));
        // The session works over https, and a money request with the anti-forgery header goes through.
        Assert.Equal(subject, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/me"))!["subject"]!.GetValue<string>());
        await trader.CreditAsync("1");
    }

    [Fact]
    public async Task Over_https_to_a_public_host_name_HSTS_is_sent()
    {
        using var browser = new HttpClient(new TlsTerminator(new CookieContainer(), system.ExchangeUrl)) { BaseAddress = new Uri(TlsTerminator.HttpsOf(system.ExchangeUrl)) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/session");
        // Loopback names are left out of HSTS by ASP.NET Core; the public name is what a browser would use.
        request.Headers.Host = "exchange.example";

        using var response = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("max-age=", string.Join(",", response.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> QueryOf(Uri location) =>
        location.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => Uri.UnescapeDataString(pair[0]), pair => Uri.UnescapeDataString(pair.Length > 1 ? pair[1] : ""));
}

/// <summary>The host's own session settings per environment, built as each environment builds them (no request needed).</summary>
public sealed class SessionSettingsTests
{
    [Theory]
    [InlineData("Staging", null, true)]
    [InlineData("Production", null, true)]
    [InlineData("Staging", "false", true)]
    [InlineData("Development", null, false)]
    [InlineData("Testing", null, false)]
    [InlineData("Development", "true", true)]
    public async Task Outside_Development_and_Testing_the_session_cookie_is_secure_and_host_prefixed(string environment, string? hardenedSetting, bool hardened)
    {
        var settings = environment is "Staging" or "Production"
            ? ProductionConfigurationTests.Clean()
            : new Dictionary<string, string?>
            {
                ["ConnectionStrings:Exchange"] = "Host=127.0.0.1;Port=5433;Database=exchange;Username=exchange_app",
                ["Exchange:MigrateOnStartup"] = "false",
                ["Exchange:ServeApi"] = "false",
                ["Exchange:RunJobs"] = "false",
            };
        settings["Exchange:HardenedSession"] = hardenedSetting;

        await using var app = await ProductionConfigurationTests.BuildAsync(environment, settings);

        var cookie = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        Assert.Equal(hardened ? "__Host-exchange.session" : "exchange.session", cookie.Cookie.Name);
        Assert.Equal(hardened ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest, cookie.Cookie.SecurePolicy);
        Assert.Equal("/", cookie.Cookie.Path);
        Assert.Null(cookie.Cookie.Domain);
        Assert.True(cookie.Cookie.HttpOnly);
        Assert.IsType<Infrastructure.Persistence.MemberSessionStore>(cookie.SessionStore);
        Assert.Equal(hardened, WebSession.IsHardened(app.Environment, app.Configuration));
    }

    [Fact]
    public void Only_the_configured_proxies_may_say_the_scheme_and_client_loopback_by_default()
    {
        var byDefault = new ForwardedHeadersOptions();
        WebSession.ConfigureForwarding(byDefault, null);
        Assert.Equal(ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, byDefault.ForwardedHeaders);
        Assert.Equal(["127.0.0.0/8", "::1/128"], byDefault.KnownIPNetworks.Select(n => n.ToString()));
        Assert.Empty(byDefault.KnownProxies);

        var configured = new ForwardedHeadersOptions();
        WebSession.ConfigureForwarding(configured, "10.0.0.0/8; 192.0.2.7");
        Assert.Equal(["10.0.0.0/8"], configured.KnownIPNetworks.Select(n => n.ToString()));
        Assert.Equal([IPAddress.Parse("192.0.2.7")], configured.KnownProxies);

        var refused = Assert.Throws<Infrastructure.StartupRefusedException>(() => WebSession.ConfigureForwarding(new ForwardedHeadersOptions(), "the-load-balancer"));
        Assert.Contains("Exchange:TrustedProxies", refused.Message, StringComparison.Ordinal);
    }
}
