namespace Exchange.Api.Common;

/// <summary>A command whose handler runs inside one database transaction (TransactionBehavior).</summary>
public interface ITransactional;

/// <summary>A command that honours the Idempotency-Key header: the same key from the same member returns the first result.</summary>
public interface IIdempotent : ITransactional
{
    Guid MemberId { get; }
    string? IdempotencyKey { get; }

    /// <summary>Names the endpoint, so one key reused on another endpoint is refused rather than replayed.</summary>
    string Operation { get; }
}

/// <summary>The request is well formed but cannot be done as asked (HTTP 422), e.g. an amount under the minimum.</summary>
public sealed class UnprocessableException(string message, string field) : Exception(message)
{
    public string Field { get; } = field;
}

public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The thing exists, but it is not the caller's (HTTP 403).</summary>
public sealed class ForbiddenException(string message) : Exception(message);

/// <summary>The request was understood but conflicts with the current state (HTTP 409).</summary>
public sealed class ConflictException(string message, string? field = null) : Exception(message)
{
    public string? Field { get; } = field;
}
