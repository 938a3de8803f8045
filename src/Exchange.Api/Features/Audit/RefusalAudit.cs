using System.Collections.Concurrent;
using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Audit;
using Microsoft.AspNetCore.Mvc;

namespace Exchange.Api.Features.Audit;

public sealed class RefusalAuditOptions
{
    public const string Section = "RefusalAudit";

    /// <summary>Events per minute for one actor (or address) and action; the rest are counted, not written.</summary>
    public int PerKeyPerMinute { get; set; } = 10;

    /// <summary>Events per minute for this instance in all.</summary>
    public int PerMinute { get; set; } = 300;
}

/// <summary>
/// Failed and refused attempts go into the audit trail too (forged or malformed callbacks, refused
/// money requests, authorization failures), in a transaction of their own since the attempt's own
/// work rolled back. A flood must not bloat the table: each actor and action may write a few per
/// minute, the instance a few hundred; what is held back is counted, and the count goes into the
/// next event written for that actor and action ("suppressed").
/// </summary>
public sealed class RefusalAudit(IServiceScopeFactory scopes, TimeProvider clock, Microsoft.Extensions.Options.IOptions<RefusalAuditOptions> options, ILogger<RefusalAudit> logger)
{
    private sealed class Window
    {
        public long Minute;
        public int Written;
        public int Suppressed;
    }

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly Window _all = new();

    /// <summary>Records the refusal unless the rate limit holds it back; never throws.</summary>
    public async Task RecordAsync(string actor, string action, string subject, object data, CancellationToken cancellationToken = default)
    {
        var suppressed = Admit(actor + "\n" + action);
        if (suppressed < 0)
        {
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
            db.Actor = actor;
            db.Audit(action, subject, suppressed > 0 ? new { attempt = data, suppressed } : data, clock.GetUtcNow());
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not audit the refused attempt {Action} by {Actor}", action, actor);
        }
    }

    /// <summary>-1: hold back. Otherwise the number held back for this key since the last one written.</summary>
    private int Admit(string key)
    {
        var minute = clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        var settings = options.Value;
        if (_windows.Count > 10_000)
        {
            // Many distinct keys (addresses, say): forget the old windows rather than grow without bound.
            foreach (var stale in _windows.Where(w => w.Value.Minute < minute).Select(w => w.Key).ToList())
            {
                _windows.TryRemove(stale, out _);
            }
        }

        var window = _windows.GetOrAdd(key, _ => new Window { Minute = minute });
        lock (window)
        {
            lock (_all)
            {
                if (window.Minute != minute)
                {
                    window.Minute = minute;
                    window.Written = 0;
                }

                if (_all.Minute != minute)
                {
                    if (_all.Suppressed > 0)
                    {
                        logger.LogWarning("{Count} refused attempts were not audited in the last minute (rate limit)", _all.Suppressed);
                    }

                    _all.Minute = minute;
                    _all.Written = 0;
                    _all.Suppressed = 0;
                }

                if (window.Written >= settings.PerKeyPerMinute || _all.Written >= settings.PerMinute)
                {
                    window.Suppressed++;
                    _all.Suppressed++;
                    return -1;
                }

                window.Written++;
                _all.Written++;
                var held = window.Suppressed;
                window.Suppressed = 0;
                return held;
            }
        }
    }

    /// <summary>Who made the attempt: the signed-in member, or the address of an anonymous caller.</summary>
    public static string ActorOf(HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true && http.User.FindFirst(ExchangeClaims.Subject)?.Value is { } subject
            ? Actors.Member(subject)
            : Actors.Anonymous(http.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    public const string ProblemItem = ProblemDetailsExceptionHandler.ProblemItem;

    /// <summary>
    /// Outermost middleware: once the response is decided, an authorization failure anywhere under
    /// /api or /hangfire, or a refused request on the money endpoints, is audited.
    /// </summary>
    public static async Task MiddlewareAsync(HttpContext http, Func<Task> next)
    {
        await next();
        var status = http.Response.StatusCode;
        var path = http.Request.Path;
        if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden
            && (path.StartsWithSegments("/api") || path.StartsWithSegments("/hangfire")))
        {
            await Record(http, "access.denied", $"path:{Truncate(path.Value, 200)}", new { method = http.Request.Method, path = Truncate(path.Value, 200), status });
            return;
        }

        if (status is >= 400 and < 500 && !HttpMethods.IsGet(http.Request.Method) && IsMoneyEndpoint(path))
        {
            var problem = http.Items[ProblemItem] as ProblemDetails;
            await Record(http, "request.refused", $"path:{Truncate(path.Value, 200)}", new
            {
                method = http.Request.Method,
                path = Truncate(path.Value, 200),
                status,
                title = problem?.Title,
                errors = problem?.Extensions.TryGetValue("errors", out var errors) == true ? errors : null,
            });
        }
    }

    private static bool IsMoneyEndpoint(PathString path) =>
        path.StartsWithSegments("/api/withdrawals") || path.StartsWithSegments("/api/transfers") || path.StartsWithSegments("/api/operations");

    private static Task Record(HttpContext http, string action, string subject, object data) =>
        http.RequestServices.GetRequiredService<RefusalAudit>().RecordAsync(ActorOf(http), action, subject, data, CancellationToken.None);

    private static string Truncate(string? value, int length) => value is null ? "" : value.Length <= length ? value : value[..length];
}
