using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VivoKey.Simulator.Tests.Support;

/// <summary>
/// A simulator plus a real relying party: ASP.NET Core's OpenID Connect handler, configured as the
/// exchange will be (code + PKCE, RS256 only, scopes openid profile email Validate).
/// </summary>
public sealed class RelyingPartyFixture : SimulatorFixture
{
    private WebApplication? _relyingParty;

    protected override async Task OnStartedAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(RelyingPartyUrl);
        builder.Logging.ClearProviders();
        builder.Services.AddAuthorization();
        builder.Services
            .AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            })
            .AddCookie()
            .AddOpenIdConnect(o =>
            {
                o.Authority = Issuer;
                o.RequireHttpsMetadata = false;
                o.ClientId = ClientId;
                o.ClientSecret = ClientSecret;
                o.ResponseType = "code";
                o.ResponseMode = "query";
                o.UsePkce = true;
                o.Scope.Clear();
                foreach (var scope in new[] { "openid", "profile", "email", "Validate" })
                {
                    o.Scope.Add(scope);
                }

                o.SaveTokens = true;
                o.GetClaimsFromUserInfoEndpoint = true;
                o.MapInboundClaims = false;
                o.TokenValidationParameters.ValidAlgorithms = ["RS256"];
                // Plain http on loopback: the handler's cookies must not demand https.
                o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.Events.OnRedirectToIdentityProvider = context =>
                {
                    if (context.Properties.Items.TryGetValue("login_hint", out var hint) && hint is not null)
                    {
                        context.ProtocolMessage.LoginHint = hint;
                    }

                    return Task.CompletedTask;
                };
                o.Events.OnRemoteFailure = context =>
                {
                    context.Response.Redirect("/failed?error=" + Uri.EscapeDataString(context.Failure?.Message ?? ""));
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });

        _relyingParty = builder.Build();
        _relyingParty.UseAuthentication();
        _relyingParty.UseAuthorization();
        _relyingParty.MapGet("/login", (string? login_hint) =>
        {
            var properties = new AuthenticationProperties { RedirectUri = "/me" };
            if (login_hint is not null)
            {
                properties.Items["login_hint"] = login_hint;
            }

            return Results.Challenge(properties);
        });
        // Two parameters: a lambda of HttpContext alone would bind as a RequestDelegate and drop its result.
        _relyingParty.MapGet("/me", async (HttpContext http, CancellationToken _) => Results.Ok(new
        {
            claims = http.User.Claims.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => g.First().Value),
            id_token = await http.GetTokenAsync("id_token"),
            access_token = await http.GetTokenAsync("access_token"),
            refresh_token = await http.GetTokenAsync("refresh_token"),
        })).RequireAuthorization();
        _relyingParty.MapGet("/failed", (string? error) => Results.Ok(new { error }));
        await _relyingParty.StartAsync();
    }

    /// <summary>A browser: follows redirects and keeps cookies.</summary>
    public HttpClient Browser() =>
        new(new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true, CookieContainer = new System.Net.CookieContainer() })
        {
            BaseAddress = new Uri(RelyingPartyUrl),
        };

    protected override async Task StopAsync()
    {
        if (_relyingParty is not null)
        {
            await _relyingParty.DisposeAsync();
            _relyingParty = null;
        }

        await base.StopAsync();
    }
}
