using System.Numerics;

namespace Exchange.Domain.Common;

/// <summary>One move of status, kept until it is written to the audit trail with the change itself.</summary>
public sealed record StatusChange(RequestStatus From, RequestStatus To, DateTimeOffset At, string? Error);

/// <summary>
/// What withdrawals and transfers share: funds held for a member until a VivoKey tap approves or
/// ends the request. Status changes only through the guarded transitions below.
/// </summary>
public abstract class ApprovalRequest
{
    private readonly List<StatusChange> _changes = [];

    protected ApprovalRequest()
    {
    }

    protected ApprovalRequest(Guid id, Guid memberId, Asset asset, BigInteger amount, DateTimeOffset at)
    {
        if (amount <= BigInteger.Zero)
        {
            throw new DomainException("invalid_amount", "The amount must be greater than zero.");
        }

        Id = id;
        MemberId = memberId;
        Asset = asset.Code;
        Amount = amount;
        Status = RequestStatus.PendingApproval;
        CreatedAt = at;
        UpdatedAt = at;
    }

    public Guid Id { get; private set; }
    public Guid MemberId { get; private set; }
    public string Asset { get; private set; } = "";
    public BigInteger Amount { get; private set; }
    public RequestStatus Status { get; private set; }
    public string? Error { get; private set; }
    public DateTimeOffset CreatedAt { get; private set; }
    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>The row version (PostgreSQL xmin): two writers of one request make one transition.</summary>
    public uint Version { get; private set; }

    /// <summary>A withdrawal or a transfer: names the audit subject.</summary>
    public abstract RequestKind Kind { get; }

    public string AuditSubject => $"{Kind.ToWire()}:{Id}";

    /// <summary>Changes made since the request was loaded, not yet written to the audit trail.</summary>
    public IReadOnlyList<StatusChange> PendingChanges => _changes;

    public void ClearPendingChanges() => _changes.Clear();

    public void Approve(DateTimeOffset at) => MoveTo(RequestStatus.Approved, at, null, RequestStatus.PendingApproval);

    /// <summary>Ends the request before anything was signed; the caller releases the held funds.</summary>
    public void End(RequestStatus outcome, DateTimeOffset at, string? error = null)
    {
        if (!outcome.ReleasesFunds())
        {
            throw new ArgumentOutOfRangeException(nameof(outcome), $"{outcome.ToWire()} is not an end before signing.");
        }

        // Approved work that can never be signed (no hot wallet funds, for one) may still fail and release.
        if (outcome == RequestStatus.Failed)
        {
            MoveTo(outcome, at, error, RequestStatus.PendingApproval, RequestStatus.Approved);
        }
        else
        {
            MoveTo(outcome, at, error, RequestStatus.PendingApproval);
        }
    }

    protected void MoveTo(RequestStatus to, DateTimeOffset at, string? error, params RequestStatus[] allowedFrom)
    {
        if (!allowedFrom.Contains(Status))
        {
            throw new InvalidTransitionException(AuditSubject, Status, to);
        }

        _changes.Add(new StatusChange(Status, to, at, error));
        Status = to;
        Error = error ?? Error;
        UpdatedAt = at;
    }
}
