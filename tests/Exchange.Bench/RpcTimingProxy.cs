using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Exchange.Testing;

namespace Exchange.Bench;

/// <summary>
/// Stands between the exchange and anvil and passes every JSON-RPC call through. For each
/// eth_sendRawTransaction it notes the moment anvil's answer came back: the moment anvil has the
/// transaction, which ends the tap-to-broadcast interval.
/// </summary>
public sealed class RpcTimingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _anvil;

    private RpcTimingProxy(WebApplication app, HttpClient anvil, string url)
    {
        _app = app;
        _anvil = anvil;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Transaction hash → when anvil answered its eth_sendRawTransaction (the first time).</summary>
    public ConcurrentDictionary<string, DateTimeOffset> Received { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static async Task<RpcTimingProxy> StartAsync(string anvilUrl)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var anvil = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(anvilUrl) };
        var builder = WebApplication.CreateSlimBuilder();
        // None of the exchange's appsettings files that sit beside the tests (Production's AllowedHosts would refuse 127.0.0.1).
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var proxy = new RpcTimingProxy(app, anvil, url);
        app.MapPost("/", proxy.ForwardAsync);
        await app.StartAsync();
        return proxy;
    }

    private async Task ForwardAsync(HttpContext http)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        var bytes = body.ToArray();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _anvil.PostAsync("", content, http.RequestAborted);
        var answer = await response.Content.ReadAsByteArrayAsync(http.RequestAborted);
        var at = DateTimeOffset.UtcNow;
        if (bytes.AsSpan().IndexOf("eth_sendRawTransaction"u8) >= 0
            && JsonNode.Parse(answer)?["result"]?.GetValue<string>() is { } hash)
        {
            Received.TryAdd(hash, at);
        }

        http.Response.StatusCode = (int)response.StatusCode;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(answer, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _anvil.Dispose();
    }
}
