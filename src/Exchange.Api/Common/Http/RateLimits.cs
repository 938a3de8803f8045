using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Common.Http;

/// <summary>
/// Requests per minute (a sliding window of one minute in six steps), from the <c>RateLimits</c> section. The
/// defaults are far above what a trader clicking through the pages sends and far below a script's flood.
/// 0 turns a limit off. The counts live in each instance's memory: behind N instances a client gets up to N
/// times the limit, which still stops a flood; nothing else depends on them.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Requests that change money (withdraw, transfer, cancel, dev credit), per member.</summary>
    public int MoneyPerMemberPerMinute { get; set; } = 30;

    /// <summary>Previews of the phone's words, per member: the pages ask one as the trader types (debounced).</summary>
    public int PreviewsPerMemberPerMinute { get; set; } = 120;

    /// <summary>Money requests and previews from one client address, whoever is signed in.</summary>
    public int MoneyPerAddressPerMinute { get; set; } = 300;

    /// <summary>Sign-in steps (/login and the OIDC callback) from one client address; one sign-in takes two.</summary>
    public int SignInPerAddressPerMinute { get; set; } = 20;
}

/// <summary>Endpoint metadata: the endpoint counts against the money limits (per member and per address).</summary>
public sealed record RateLimitedAs(string Kind)
{
    public static readonly RateLimitedAs Money = new("money");
    public static readonly RateLimitedAs Preview = new("preview");
}

/// <summary>
/// ASP.NET Core's rate limiter, twice: before authentication for the sign-in steps by client address (the OIDC
/// callback is answered inside the authentication middleware), and after it for the money endpoints, per
/// member and per address. A refused request gets 429, Retry-After and a problem-details body.
/// </summary>
public static class RateLimits
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private const int Segments = 6;

    public static RouteHandlerBuilder LimitedAs(this RouteHandlerBuilder endpoint, RateLimitedAs kind) => endpoint.WithMetadata(kind);

    /// <summary>Before UseAuthentication: /login and the OIDC callback path, per client address.</summary>
    public static void UseForSignIn(WebApplication app)
    {
        var limits = Options(app);
        // Read at the first request, not while the host is built: a command-line tool never configures sign-in.
        var callback = new Lazy<PathString>(() =>
            app.Services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(OpenIdConnectDefaults.AuthenticationScheme).CallbackPath);
        app.UseRateLimiter(Refusing(PartitionedRateLimiter.Create<HttpContext, string>(http =>
            IsPath(http.Request.Path, "/login") || IsPath(http.Request.Path, callback.Value)
                ? PerMinute("sign-in:" + Address(http), limits.SignInPerAddressPerMinute)
                : NoLimit)));
    }

    /// <summary>
    /// The path as routing matches it: any letter case, trailing slashes ignored (<c>/login/</c> reaches the same
    /// endpoint as <c>/login</c>, so it must count the same).
    /// </summary>
    public static bool IsPath(PathString path, PathString expected) =>
        string.Equals(path.Value?.TrimEnd('/'), expected.Value?.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

    /// <summary>After UseAuthorization: endpoints marked <see cref="RateLimitedAs"/>, per member and per client address.</summary>
    public static void UseForMoney(WebApplication app)
    {
        var limits = Options(app);
        var perMember = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            KindOf(http) is { } kind && Guid.TryParse(http.User.FindFirst(ExchangeClaims.MemberId)?.Value, out var member)
                ? PerMinute($"{kind.Kind}:{member}", kind == RateLimitedAs.Preview ? limits.PreviewsPerMemberPerMinute : limits.MoneyPerMemberPerMinute)
                : NoLimit);
        var perAddress = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            KindOf(http) is not null ? PerMinute("money:" + Address(http), limits.MoneyPerAddressPerMinute) : NoLimit);
        app.UseRateLimiter(Refusing(PartitionedRateLimiter.CreateChained(perMember, perAddress)));
    }

    private static RateLimitOptions Options(WebApplication app) =>
        app.Configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();

    private static RateLimitedAs? KindOf(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<RateLimitedAs>();

    private static string Address(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static readonly RateLimitPartition<string> NoLimit = RateLimitPartition.GetNoLimiter("");

    // Sliding, not fixed: a client cannot double its allowance by straddling the turn of a window, and a run of
    // limit + 1 requests within fifty seconds always meets the limit, whenever it starts.
    private static RateLimitPartition<string> PerMinute(string key, int limit) => limit <= 0
        ? NoLimit
        : RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit,
            Window = Window,
            SegmentsPerWindow = Segments,
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    private static RateLimiterOptions Refusing(PartitionedRateLimiter<HttpContext> limiter) => new()
    {
        GlobalLimiter = limiter,
        RejectionStatusCode = StatusCodes.Status429TooManyRequests,
        OnRejected = RefuseAsync,
    };

    private static async ValueTask RefuseAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        // A sliding window frees permits at its next step at the earliest; the limiter may know better.
        var after = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero ? retryAfter : Window / Segments;
        var seconds = (int)Math.Ceiling(after.TotalSeconds);
        var http = context.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = $"Too many requests: try again in {seconds} seconds.",
            Extensions = { ["retryAfter"] = seconds },
        };
        http.Items[ProblemDetailsExceptionHandler.ProblemItem] = problem;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
    }
}
