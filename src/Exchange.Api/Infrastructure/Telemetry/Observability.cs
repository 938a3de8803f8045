using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Exchange.Domain.Common;

namespace Exchange.Api.Infrastructure.Telemetry;

public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>
    /// Where Prometheus scrapes this instance's metrics, on the management port (Exchange:ManagementUrls) only;
    /// empty: not served. Anyone who reaches that port may read it (counts and latencies, no ids or amounts).
    /// </summary>
    public string MetricsPath { get; set; } = "/metrics";
}

/// <summary>
/// Metrics for Prometheus and the shape of the logs. Every instance, API-only and worker-only alike,
/// serves /metrics on its management port (its own jobs are counted where they run) and logs in scopes that
/// name the withdrawal or transfer at hand.
/// </summary>
public static class Observability
{
    public const string ServiceName = "exchange-api";

    public static void Add(WebApplicationBuilder builder)
    {
        AddLoggingDefaults(builder);
        builder.Services.Configure<TelemetryOptions>(builder.Configuration.GetSection(TelemetryOptions.Section));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
                // http.server.request.duration by route, method and status code, and Kestrel's connections.
                .AddAspNetCoreInstrumentation()
                // http.client.request.duration of the calls to VivoKey and to the chain node.
                .AddMeter("System.Net.Http")
                .AddMeter(ExchangeMetrics.MeterName)
                .AddPrometheusExporter());
    }

    /// <summary>
    /// The console's defaults, below every configuration source (so appsettings, the environment or the command
    /// line may set others): JSON lines with the scopes as named fields outside Development, for a log collector;
    /// the readable simple format in Development, with scopes too. Set here, once for every environment but
    /// Development, rather than in one appsettings file per environment.
    /// </summary>
    private static void AddLoggingDefaults(WebApplicationBuilder builder)
    {
        var json = !builder.Environment.IsDevelopment();
        var defaults = new Dictionary<string, string?>
        {
            ["Logging:Console:FormatterName"] = json ? ConsoleFormatterNames.Json : ConsoleFormatterNames.Simple,
            ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
        };
        if (json)
        {
            defaults["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            defaults["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true";
        }

        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
    }

    /// <summary>
    /// Outermost: every line logged while serving a request, the exception handler's and the refusal audit's
    /// included, is in a scope that names the withdrawal, transfer or operator action of the route, or the one
    /// a handler names later. ASP.NET Core's own scope beside it carries RequestId (the TraceIdentifier) and TraceId.
    /// Behind our nginx, the load balancer's own id of the request (X-Request-Id, also in its access log) is
    /// there too, as LoadBalancerRequestId, so one line of the access log leads to the instance's lines.
    /// </summary>
    public static void UseRequestLogFields(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Exchange.Api.Requests");
        app.Use(async (http, next) =>
        {
            using var scope = LogFields.ForRequest(logger);
            if (http.Request.Headers["X-Request-Id"] is [{ Length: > 0 and <= 64 } forwarded] && forwarded.All(char.IsAsciiLetterOrDigit))
            {
                LogFields.AddToRequest("LoadBalancerRequestId", forwarded);
            }

            if (http.Request.RouteValues.TryGetValue("id", out var value) && Guid.TryParse(value as string, out var id) && KindOf(http.Request.Path) is { } kind)
            {
                LogFields.NameRequest(kind, id);
            }

            await next(http);
        });
    }

    private static RequestKind? KindOf(PathString path) =>
        path.StartsWithSegments("/api/withdrawals") ? RequestKind.Withdrawal
        : path.StartsWithSegments("/api/transfers") ? RequestKind.Transfer
        : path.StartsWithSegments("/api/operations/actions") ? RequestKind.OperatorAction
        : null;

    /// <summary>
    /// The scrape endpoint, on the management port only (not mapped without one): anonymous, and left out of the
    /// HTTP metrics (a scrape every few seconds is not traffic).
    /// </summary>
    public static void MapMetrics(WebApplication app)
    {
        var path = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value.MetricsPath;
        if (!string.IsNullOrWhiteSpace(path) && app.Services.GetRequiredService<ManagementPorts>().Configured)
        {
            app.MapPrometheusScrapingEndpoint(path).AllowAnonymous().DisableHttpMetrics().WithMetadata(new ManagementPorts.ManagementOnly());
        }
    }
}
