using System.Net;
using Exchange.Api.Common.Http;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Account;

/// <summary>
/// The browser's session and what it travels over: the cookie (server-side, revocable: see
/// <see cref="MemberSessionStore"/>), the scheme and client address passed on by the proxies in
/// front, HSTS, and the anti-forgery header every unsafe /api request carries.
/// </summary>
public static class WebSession
{
    public const string CookieName = "exchange.session";

    /// <summary>Outside Development and Testing the cookie is only ever sent over https, and may not be set by a sibling domain.</summary>
    public const string HardenedCookieName = "__Host-" + CookieName;

    /// <summary>The anti-forgery proof: a custom header, which a cross-site form cannot send and a cross-site fetch cannot without CORS (none is enabled).</summary>
    public const string AntiForgeryHeader = "X-Requested-With";

    public const string AntiForgeryValue = "exchange";

    /// <summary>
    /// The Secure <c>__Host-</c> cookie and HSTS: everywhere but Development and Testing, which run on plain
    /// http on loopback. <c>Exchange:HardenedSession=true</c> turns them on there too (a test of them, a
    /// local https set-up); false never turns them off elsewhere.
    /// </summary>
    public static bool IsHardened(IHostEnvironment environment, IConfiguration configuration) =>
        !(environment.IsDevelopment() || environment.IsEnvironment("Testing"))
        || configuration.GetValue<bool>("Exchange:HardenedSession");

    public static void Add(IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var hardened = IsHardened(environment, configuration);
        var vivoKey = configuration.GetSection(VivoKeyOptions.Section).Get<VivoKeyOptions>() ?? new VivoKeyOptions();
        services.AddSingleton<MemberSessionStore>();
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<MemberSessionStore>((cookie, store) => cookie.SessionStore = store);
        services
            .AddAuthentication(options =>
            {
                options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                options.DefaultChallengeScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            })
            .AddCookie(cookie => ConfigureCookie(cookie, hardened))
            .AddOpenIdConnect(oidc => SignIn.Configure(oidc, vivoKey));
        services.AddAuthorization();
        // Hangfire's dashboard validates its own forms with this when it is registered.
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.SecurePolicy = hardened ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.Configure<ForwardedHeadersOptions>(forwarded => ConfigureForwarding(forwarded, configuration["Exchange:TrustedProxies"]));
    }

    /// <summary>The session cookie's settings (the host's own, exposed for tests).</summary>
    public static void ConfigureCookie(CookieAuthenticationOptions cookie, bool hardened)
    {
        cookie.Cookie.Name = hardened ? HardenedCookieName : CookieName;
        cookie.Cookie.HttpOnly = true;
        cookie.Cookie.SameSite = SameSiteMode.Lax;
        // __Host- demands Secure, Path=/ and no Domain; browsers refuse the cookie otherwise.
        cookie.Cookie.SecurePolicy = hardened ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        cookie.Cookie.Path = "/";
        cookie.Cookie.Domain = null;
        cookie.SlidingExpiration = true;
        cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
        cookie.LoginPath = "/login";
        cookie.Events.OnValidatePrincipal = RoleGrants.RecheckAsync;
        // The API answers 401/403; pages are sent to sign in, or answer 403.
        cookie.Events.OnRedirectToLogin = context => Deny(context, StatusCodes.Status401Unauthorized);
        cookie.Events.OnRedirectToAccessDenied = context => Deny(context, StatusCodes.Status403Forbidden);
    }

    /// <summary>
    /// Only the proxies named in <c>Exchange:TrustedProxies</c> (addresses or CIDR networks, separated by
    /// <c>;</c> or <c>,</c>; loopback when unset) may say which scheme and client a request came from. Every
    /// trusted hop is unwound (the TLS terminator, then nginx), so the client address is the first untrusted one.
    /// </summary>
    public static void ConfigureForwarding(ForwardedHeadersOptions forwarded, string? trustedProxies)
    {
        forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        forwarded.ForwardLimit = null;
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        var entries = (trustedProxies ?? "").Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var entry in entries.Length > 0 ? entries : ["127.0.0.0/8", "::1/128"])
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                forwarded.KnownIPNetworks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                forwarded.KnownProxies.Add(address);
            }
            else
            {
                throw new Infrastructure.StartupRefusedException($"Exchange:TrustedProxies has '{entry}', which is neither an IP address nor a CIDR network (10.0.0.0/8).");
            }
        }
    }

    /// <summary>First of all: every later middleware sees the client's scheme and address, not the proxy's.</summary>
    public static void UseTransport(WebApplication app)
    {
        app.UseForwardedHeaders();
        if (IsHardened(app.Environment, app.Configuration))
        {
            app.UseHsts();
        }
    }

    /// <summary>
    /// After authorization (a caller without a session still gets 401), before any endpoint: an unsafe method
    /// under /api without the header is refused with 400. Nothing outside /api is touched: the VivoKey callback
    /// (/vivokey/callback, server to server), the OIDC return, sign-out, and Hangfire (its own antiforgery).
    /// </summary>
    public static void UseAntiForgeryHeader(WebApplication app) =>
        app.Use((http, next) =>
        {
            var method = http.Request.Method;
            if (!http.Request.Path.StartsWithSegments("/api")
                || HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)
                || string.Equals(http.Request.Headers[AntiForgeryHeader], AntiForgeryValue, StringComparison.Ordinal))
            {
                return next(http);
            }

            return Results.ValidationProblem(
                new Dictionary<string, string[]>
                {
                    [AntiForgeryHeader] = [$"Unsafe requests under /api must carry the header {AntiForgeryHeader}: {AntiForgeryValue} (the exchange's anti-forgery proof)."],
                },
                title: $"The {AntiForgeryHeader} header is missing.").ExecuteAsync(http);
        });

    private static Task Deny(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments("/api") || status == StatusCodes.Status403Forbidden)
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}
