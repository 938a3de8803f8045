using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// The in-process exchange's errors, kept in memory (its other log lines are dropped unless EXCHANGE_TEST_LOGS=1),
/// so that a test that meets a 500 can say what the exchange logged when it answered it.
/// </summary>
public sealed class ServerErrors : ILoggerProvider
{
    private const int Kept = 20;
    private readonly ConcurrentQueue<string> _lines = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The last errors the exchange logged, newest last; empty when it logged none.</summary>
    public string Recent => string.Join("\n---\n", _lines);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Kept && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(ServerErrors errors, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                errors.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}\n{exception}");
            }
        }
    }
}

/// <summary>
/// Fails a request the in-process exchange answered with 500 (always a bug) with what the exchange logged, instead of
/// leaving the test to report a bare status code.
/// </summary>
public sealed class ServerErrorHandler(ServerErrors errors, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.InternalServerError)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new HttpRequestException(
                $"{request.Method} {request.RequestUri?.PathAndQuery} answered 500: {body}\nThe exchange logged:\n{errors.Recent}",
                null, HttpStatusCode.InternalServerError);
        }

        return response;
    }
}
