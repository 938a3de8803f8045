using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace VivoKey.Simulator.Validation;

/// <summary>One callback the simulator sent, or held back, and what the receiver answered.</summary>
public sealed record CallbackRecord(
    string VivoId,
    string Id,
    string Url,
    JsonObject Body,
    DateTimeOffset At,
    bool Sent,
    int? StatusCode,
    string? Error,
    string? Fault,
    DateTimeOffset? SentAt = null);

/// <summary>
/// Sends the Validation API callbacks. Like the real service, each is sent once and never
/// retried, whatever the receiver answers; the faults of the challenge's plan apply here.
/// </summary>
public sealed class CallbackDispatcher(IHttpClientFactory httpClients, TimeProvider clock, ILogger<CallbackDispatcher> logger)
{
    public const string HttpClientName = "callbacks";

    private readonly ConcurrentQueue<CallbackRecord> _log = new();
    private readonly ConcurrentDictionary<string, (Challenge Challenge, DateTimeOffset Due)> _late = new(StringComparer.Ordinal);

    private TaskCompletionSource _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IEnumerable<CallbackRecord> Log => _log;

    /// <summary>Waits until the log holds at least <paramref name="count"/> records that match, or the wait is over.</summary>
    public async Task<IReadOnlyList<CallbackRecord>> WaitForAsync(Func<CallbackRecord, bool> match, int count, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        while (true)
        {
            var logged = Volatile.Read(ref _logged).Task;
            var records = _log.Where(match).ToList();
            if (records.Count >= count)
            {
                return records;
            }

            try
            {
                await logged.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return _log.Where(match).ToList();
            }
        }
    }

    public IEnumerable<(Challenge Challenge, DateTimeOffset Due)> Scheduled => _late.Values;

    /// <summary>The body of the reference: success, message and error only when it failed, vivo_id, id.</summary>
    public static JsonObject BodyFor(Challenge challenge)
    {
        var body = new JsonObject { ["success"] = challenge.Status == ChallengeStatus.Success };
        var (error, message) = challenge.Status switch
        {
            ChallengeStatus.Declined => ("declined", "The member declined the authorization"),
            ChallengeStatus.Timeout => ("timeout", "The member did not tap to authorize within the given timeout period"),
            ChallengeStatus.TokenExpired => ("token-expired", "The member's Access Token has expired and should be renewed"),
            _ => ((string?)null, (string?)null),
        };
        if (error is not null)
        {
            body["message"] = message;
            body["error"] = error;
        }

        body["vivo_id"] = challenge.VivoId;
        body["id"] = challenge.Id;
        return body;
    }

    /// <summary>Called once when a challenge ends; applies the plan's callback fault.</summary>
    public async Task DispatchAsync(Challenge challenge, CancellationToken cancellationToken)
    {
        switch (challenge.Faults.Callback)
        {
            case CallbackFault.Never:
                Record(challenge, sent: false, statusCode: null, error: null, fault: "never");
                break;
            case CallbackFault.Late:
                _late[challenge.VivoId] = (challenge, clock.GetUtcNow().AddSeconds(challenge.Faults.LateSeconds));
                break;
            case CallbackFault.Twice:
                await SendAsync(challenge, "twice", cancellationToken);
                await SendAsync(challenge, "twice", cancellationToken);
                break;
            case CallbackFault.BeforeResponse:
                await SendAsync(challenge, "before_response", cancellationToken);
                break;
            default:
                await SendAsync(challenge, null, cancellationToken);
                break;
        }
    }

    /// <summary>Sends the late callbacks whose time has come.</summary>
    public async Task SendDueAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var (vivoId, entry) in _late)
        {
            if (entry.Due <= now && _late.TryRemove(vivoId, out _))
            {
                await SendAsync(entry.Challenge, "late", cancellationToken);
            }
        }
    }

    private async Task SendAsync(Challenge challenge, string? fault, CancellationToken cancellationToken)
    {
        var body = BodyFor(challenge);
        var sentAt = clock.GetUtcNow();
        try
        {
            var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.PostAsJsonAsync(challenge.Callback, body, cancellationToken);
            Record(challenge, sent: true, (int)response.StatusCode, error: null, fault, sentAt);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Callback for {VivoId} to {Url} failed: {Error}", challenge.VivoId, challenge.Callback, ex.Message);
            Record(challenge, sent: true, statusCode: null, ex.Message, fault, sentAt);
        }
    }

    /// <summary>At is when the receiver had answered (or the send failed); SentAt when the POST began.</summary>
    private void Record(Challenge challenge, bool sent, int? statusCode, string? error, string? fault, DateTimeOffset? sentAt = null)
    {
        _log.Enqueue(new CallbackRecord(
            challenge.VivoId, challenge.Id, challenge.Callback, BodyFor(challenge), clock.GetUtcNow(), sent, statusCode, error, fault, sentAt));
        Interlocked.Exchange(ref _logged, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
