using System.Collections;
using Exchange.Domain.Common;

namespace Exchange.Api.Infrastructure.Telemetry;

/// <summary>
/// Named fields of a log scope: WithdrawalId, TransferId, OperatorActionId, ChallengeId. The JSON console
/// writes each as a property of the scope, the simple console as "WithdrawalId:…". Fields can be added
/// while the scope is open (once the work learns what it is about), and every line logged after that carries
/// them: an HTTP request's scope opens empty (<see cref="ForRequest"/>), and a handler that finds or creates
/// the withdrawal names it with <see cref="NameRequest"/>. Logging providers read the fields when they write
/// a line, so the list is replaced whole on each addition, never changed under a reader.
/// </summary>
public sealed class LogFields : IReadOnlyList<KeyValuePair<string, object?>>
{
    private static readonly AsyncLocal<LogFields?> Request = new();

    private readonly Lock _writing = new();
    private volatile KeyValuePair<string, object?>[] _fields = [];

    public static LogFields Withdrawal(Guid id) => new LogFields().With("WithdrawalId", id);

    public static LogFields Challenge(Guid id) => new LogFields().With("ChallengeId", id);

    /// <summary>The request behind a challenge, named by its kind: withdrawal, transfer or operator_action.</summary>
    public static LogFields Of(RequestKind kind, Guid id) => new LogFields().With(FieldFor(kind), id);

    public LogFields With(string name, object? value)
    {
        lock (_writing)
        {
            _fields = _fields.Where(f => f.Key != name).Append(new(name, value)).ToArray();
        }

        return this;
    }

    public LogFields WithRequest(RequestKind kind, Guid id) => With(FieldFor(kind), id);

    /// <summary>
    /// Opens the scope of an HTTP request, empty until the request names what it is about. The fields flow
    /// with the request's async work (an <see cref="AsyncLocal{T}"/>, as logging scopes themselves do).
    /// </summary>
    public static IDisposable? ForRequest(ILogger logger)
    {
        var fields = new LogFields();
        var scope = logger.BeginScope(fields);
        var outer = Request.Value;
        Request.Value = fields;
        return new Restore(scope, outer);
    }

    /// <summary>
    /// Names the withdrawal, transfer or operator action the current HTTP request is about, so its later log
    /// lines carry the id. Outside a request (background work opens scopes of its own) it does nothing.
    /// </summary>
    public static void NameRequest(RequestKind kind, Guid id) => Request.Value?.WithRequest(kind, id);

    /// <summary>Adds a field to the current HTTP request's scope (none outside a request).</summary>
    public static void AddToRequest(string name, object? value) => Request.Value?.With(name, value);

    private static string FieldFor(RequestKind kind) => kind switch
    {
        RequestKind.Withdrawal => "WithdrawalId",
        RequestKind.Transfer => "TransferId",
        RequestKind.OperatorAction => "OperatorActionId",
        // Not "RequestId": ASP.NET Core's own scope names the HTTP request so.
        _ => "ApprovalRequestId",
    };

    public int Count => _fields.Length;

    public KeyValuePair<string, object?> this[int index] => _fields[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>What the simple console shows ("=> WithdrawalId:…") and the JSON console's scope Message.</summary>
    public override string ToString() => string.Join(", ", _fields.Select(f => $"{f.Key}:{f.Value}"));

    private sealed class Restore(IDisposable? scope, LogFields? outer) : IDisposable
    {
        public void Dispose()
        {
            Request.Value = outer;
            scope?.Dispose();
        }
    }
}
