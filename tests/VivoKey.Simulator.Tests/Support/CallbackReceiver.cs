using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VivoKey.Simulator.Tests.Support;

public sealed record ReceivedCallback(string Path, JsonObject Body, string Raw, DateTimeOffset At);

/// <summary>A real HTTP server standing in for a relying party's callback endpoint; it records what VivoKey sends.</summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedCallback> _received = new();
    private readonly Signal _signal = new();

    public CallbackReceiver(int port)
    {
        BaseUrl = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(BaseUrl);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        // /callback answers 200; /callback-500 answers 500, to show the simulator does not retry.
        _app.MapPost("/{path}", async (string path, HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var raw = await reader.ReadToEndAsync();
            _received.Enqueue(new ReceivedCallback(path, JsonNode.Parse(raw)!.AsObject(), raw, DateTimeOffset.UtcNow));
            _signal.Raise();
            return path.EndsWith("-500", StringComparison.Ordinal) ? Results.StatusCode(500) : Results.Ok();
        });
    }

    public string BaseUrl { get; }
    public string CallbackUrl => BaseUrl + "/callback";
    public string FailingCallbackUrl => BaseUrl + "/callback-500";

    public Task StartAsync() => _app.StartAsync();

    public IReadOnlyList<ReceivedCallback> For(string vivoId) =>
        _received.Where(r => r.Body["vivo_id"]?.GetValue<string>() == vivoId).ToList();

    public async Task<IReadOnlyList<ReceivedCallback>> WaitForAsync(string vivoId, int count = 1, double seconds = 10)
    {
        await _signal.WaitUntilAsync(() => For(vivoId).Count >= count, TimeSpan.FromSeconds(seconds), $"{count} callback(s) for {vivoId}");
        return For(vivoId);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
