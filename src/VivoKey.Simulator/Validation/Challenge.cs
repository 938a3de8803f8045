using System.Collections.Concurrent;

namespace VivoKey.Simulator.Validation;

public enum ChallengeStatus
{
    Pending,
    Success,
    Declined,
    Timeout,
    TokenExpired,
}

/// <summary>One validation challenge as the member's phone sees it.</summary>
public sealed class Challenge
{
    private readonly Lock _gate = new();

    public required string VivoId { get; init; }
    public required string Id { get; init; }
    public required string ClientId { get; init; }
    public required string Member { get; init; }
    public required string Message { get; init; }
    public required string Callback { get; init; }
    public required string TokenId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset Deadline { get; init; }
    public required FaultPlan Faults { get; init; }

    public ChallengeStatus Status { get; private set; } = ChallengeStatus.Pending;
    public DateTimeOffset? EndedAt { get; private set; }

    /// <summary>Ends a pending challenge; false when it had already ended (a tap racing the deadline loses or wins, once).</summary>
    public bool TryEnd(ChallengeStatus outcome, DateTimeOffset at)
    {
        if (outcome == ChallengeStatus.Pending)
        {
            throw new ArgumentOutOfRangeException(nameof(outcome));
        }

        lock (_gate)
        {
            if (Status != ChallengeStatus.Pending)
            {
                return false;
            }

            Status = outcome;
            EndedAt = at;
            return true;
        }
    }
}

/// <summary>Every challenge of this run, in memory.</summary>
public sealed class ChallengeStore
{
    private readonly ConcurrentDictionary<string, Challenge> _byVivoId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string ClientId, string Id), string> _idsByClient = new();

    /// <summary>
    /// Adds a challenge. With <paramref name="deduplicate"/>, not when its client already used its id
    /// (ids then stay unique per client, forever); without, a reused id opens one more challenge.
    /// </summary>
    public bool TryAdd(Challenge challenge, bool deduplicate = true)
    {
        if (!_idsByClient.TryAdd((challenge.ClientId, challenge.Id), challenge.VivoId) && deduplicate)
        {
            return false;
        }

        _byVivoId[challenge.VivoId] = challenge;
        return true;
    }

    public Challenge? Find(string vivoId) => _byVivoId.TryGetValue(vivoId, out var challenge) ? challenge : null;

    public IEnumerable<Challenge> All => _byVivoId.Values.OrderBy(c => c.CreatedAt);

    public IEnumerable<Challenge> PendingPast(DateTimeOffset now) =>
        _byVivoId.Values.Where(c => c.Status == ChallengeStatus.Pending && c.Deadline <= now);
}
