namespace Exchange.Api.Infrastructure;

/// <summary>
/// The management endpoint (<c>Exchange:ManagementUrls</c>): Kestrel listens on it beside <c>Urls</c>, and only
/// there are /metrics and the detailed readiness served; the public port answers 404 for them, whatever the
/// path's case or a trailing slash, and the management port serves nothing else. Which port a request arrived
/// on is the socket's own (<c>Connection.LocalPort</c>), not the Host header a client writes, so nothing
/// routed to the public port reaches the management endpoints. Unset: they are not served at all.
/// </summary>
public sealed class ManagementPorts(IReadOnlySet<int> ports)
{
    public const string Setting = "Exchange:ManagementUrls";

    /// <summary>The management ports; empty when <see cref="Setting"/> is unset.</summary>
    public IReadOnlySet<int> Ports { get; } = ports;

    public bool Configured => Ports.Count > 0;

    /// <summary>Whether the request arrived on a management port.</summary>
    public bool Serves(HttpContext http) => Ports.Contains(http.Connection.LocalPort);

    /// <summary>
    /// Adds the management URLs to what Kestrel listens on (after the public <c>Urls</c>, or the defaults those
    /// would have) and registers the ports. Refuses a URL without an explicit port, or a port the public side uses.
    /// </summary>
    public static ManagementPorts Listen(WebApplicationBuilder builder, string? managementUrls)
    {
        var management = Split(managementUrls);
        if (management.Count == 0)
        {
            return Register(builder, new ManagementPorts(new HashSet<int>()));
        }

        var publicUrls = PublicUrls(builder.Configuration);
        var ports = new HashSet<int>();
        foreach (var url in management)
        {
            var port = PortOf(url) ?? throw new StartupRefusedException($"{Setting} lists {url}, which is not a URL with an explicit port (http://127.0.0.1:9180, say): set one.");
            ports.Add(port);
        }

        if (publicUrls.Select(PortOf).FirstOrDefault(p => p is { } port && ports.Contains(port)) is { } shared)
        {
            throw new StartupRefusedException($"{Setting} uses port {shared}, which Urls serves the public on too: give the management endpoint a port of its own.");
        }

        builder.WebHost.UseUrls([.. publicUrls, .. management]);
        return Register(builder, new ManagementPorts(ports));
    }

    /// <summary>
    /// Right after routing: a management endpoint answers 404 off its port, and the management port answers 404
    /// for everything but the management endpoints and the liveness probe.
    /// </summary>
    public void UseSeparation(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use((http, next) =>
        {
            var metadata = http.GetEndpoint()?.Metadata;
            var onManagement = Serves(http);
            var allowed = metadata?.GetMetadata<AnyPort>() is not null
                || (metadata?.GetMetadata<ManagementOnly>() is not null ? onManagement : !onManagement);
            if (allowed)
            {
                return next(http);
            }

            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    /// <summary>Says at start where the management endpoints answer, or that they do not.</summary>
    public void LogWhere(WebApplication app, string? managementUrls)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ManagementPorts).FullName!);
        if (Configured)
        {
            logger.LogInformation("Management endpoints (/metrics, the detailed /health/ready) on {ManagementUrls} only.", managementUrls);
        }
        else
        {
            logger.LogInformation("{Setting} is not set: /metrics and the detailed readiness are not served (set it to an address of this host that only Prometheus and the orchestrator reach, e.g. http://127.0.0.1:9180).", Setting);
        }
    }

    private static ManagementPorts Register(WebApplicationBuilder builder, ManagementPorts ports)
    {
        builder.Services.AddSingleton(ports);
        return ports;
    }

    private static List<string> Split(string? urls) =>
        (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>What Kestrel would listen on without us: Urls, else ASPNETCORE_HTTP(S)_PORTS, else its default.</summary>
    private static List<string> PublicUrls(IConfiguration configuration)
    {
        var urls = Split(configuration[WebHostDefaults.ServerUrlsKey]);
        if (urls.Count > 0)
        {
            return urls;
        }

        var ports = Split(configuration[WebHostDefaults.HttpPortsKey]?.Replace(',', ';')).Select(p => $"http://*:{p}")
            .Concat(Split(configuration[WebHostDefaults.HttpsPortsKey]?.Replace(',', ';')).Select(p => $"https://*:{p}")).ToList();
        return ports.Count > 0 ? ports : ["http://localhost:5000"];
    }

    private static int? PortOf(string url)
    {
        try
        {
            var address = BindingAddress.Parse(url);
            // BindingAddress fills in 80/443 for a URL without a port; only an explicit one counts here.
            return url.Contains($":{address.Port}", StringComparison.Ordinal) && address.Port > 0 ? address.Port : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Marks an endpoint served on the management port only.</summary>
    public sealed class ManagementOnly;

    /// <summary>Marks an endpoint served on both (the liveness probe).</summary>
    public sealed class AnyPort;
}
