using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// A pass-through HTTP proxy in front of a real service (anvil's JSON-RPC, VivoKey's Validation API)
/// that a test can make go dark: while <see cref="Refuse"/> matches a request, the connection is
/// dropped without an answer, as when the service is down. Everything else is forwarded untouched.
/// </summary>
public sealed class FlakyHttpProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new();
    private int _refused;

    private FlakyHttpProxy(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Which requests find the service down: null lets all through.</summary>
    public Func<string, bool>? Refuse { get; set; }

    /// <summary>How many requests found it down.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static async Task<FlakyHttpProxy> StartAsync(string upstream)
    {
        for (var attempt = 1; ; attempt++)
        {
            var url = $"http://127.0.0.1:{Exchange.Testing.FreePort.Next()}";
            var builder = WebApplication.CreateSlimBuilder();
            // None of the exchange's appsettings files that sit beside the tests (Production's AllowedHosts would refuse 127.0.0.1).
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection();
            builder.WebHost.UseUrls(url);
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var proxy = new FlakyHttpProxy(app, url);
            app.Run(context => proxy.ForwardAsync(context, upstream));
            try
            {
                await app.StartAsync();
                return proxy;
            }
            catch (Exception e) when (attempt < 5 && Exchange.Testing.FreePort.IsAddressInUse(e))
            {
                await app.DisposeAsync();
            }
        }
    }

    private async Task ForwardAsync(HttpContext context, string upstream)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        if (Refuse?.Invoke(body) == true)
        {
            Interlocked.Increment(ref _refused);
            context.Abort();
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), upstream.TrimEnd('/') + context.Request.Path + context.Request.QueryString)
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8),
        };
        // The caller's content type as it was, parameters (charset) included.
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(context.Request.ContentType ?? "application/json");
        if (context.Request.Headers.Authorization is { Count: > 0 } authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization.ToString());
        }

        using var response = await _upstream.SendAsync(request);
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } contentType)
        {
            context.Response.ContentType = contentType.ToString();
        }
        await response.Content.CopyToAsync(context.Response.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
