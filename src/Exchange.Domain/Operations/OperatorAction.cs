using Exchange.Domain.Common;

namespace Exchange.Domain.Operations;

/// <summary>What an operator may do to a stuck request.</summary>
public enum OperatorActionKind
{
    /// <summary>Send the request's challenge to VivoKey again now (VivoKey has not accepted it yet).</summary>
    RetrySend,
    /// <summary>Broadcast a signed withdrawal's stored bytes again (never re-signed).</summary>
    Rebroadcast,
    /// <summary>End a request still waiting for its member's tap; the held funds come back.</summary>
    Cancel,
}

public enum OperatorActionStatus
{
    /// <summary>Waiting for the operator's own VivoKey tap; nothing has happened yet.</summary>
    AwaitingTap,
    /// <summary>Tapped and carried out.</summary>
    Executed,
    /// <summary>Tapped, but the request had moved on and the action no longer applied: nothing done.</summary>
    NotApplicable,
    Declined,
    Expired,
    /// <summary>The operator's challenge could not be delivered (VivoKey unreachable, tokens spent).</summary>
    Failed,
}

public static class OperatorActions
{
    private static readonly Dictionary<OperatorActionKind, string> KindWire = new()
    {
        [OperatorActionKind.RetrySend] = "retry-send",
        [OperatorActionKind.Rebroadcast] = "rebroadcast",
        [OperatorActionKind.Cancel] = "cancel",
    };

    private static readonly Dictionary<OperatorActionStatus, string> StatusWire = new()
    {
        [OperatorActionStatus.AwaitingTap] = "awaiting_tap",
        [OperatorActionStatus.Executed] = "executed",
        [OperatorActionStatus.NotApplicable] = "not_applicable",
        [OperatorActionStatus.Declined] = "declined",
        [OperatorActionStatus.Expired] = "expired",
        [OperatorActionStatus.Failed] = "failed",
    };

    public static IReadOnlyCollection<string> KindNames => KindWire.Values;

    public static string ToWire(this OperatorActionKind kind) => KindWire[kind];

    public static string ToWire(this OperatorActionStatus status) => StatusWire[status];

    public static bool TryParseKind(string? wire, out OperatorActionKind kind)
    {
        foreach (var (k, name) in KindWire)
        {
            if (name == wire)
            {
                kind = k;
                return true;
            }
        }

        kind = default;
        return false;
    }

    public static OperatorActionKind ParseKind(string wire) =>
        TryParseKind(wire, out var kind) ? kind : throw new FormatException($"Unknown operator action '{wire}'.");

    public static OperatorActionStatus ParseStatus(string wire) =>
        StatusWire.FirstOrDefault(p => p.Value == wire) is { Value: not null } found ? found.Key : throw new FormatException($"Unknown operator action status '{wire}'.");

    /// <summary>The request statuses an action applies to: checked when it is asked for and again at the tap.</summary>
    public static bool AppliesTo(this OperatorActionKind kind, RequestKind requestKind, RequestStatus status) => kind switch
    {
        OperatorActionKind.RetrySend or OperatorActionKind.Cancel => status == RequestStatus.PendingApproval,
        OperatorActionKind.Rebroadcast => requestKind == RequestKind.Withdrawal && status is RequestStatus.Signed or RequestStatus.Broadcast,
        _ => false,
    };
}

/// <summary>
/// An operator's action on someone's request. It takes effect only once the operator confirms it
/// with their own implant (a validation challenge to them, like a trader's), and ends once.
/// </summary>
public sealed class OperatorAction
{
    private OperatorAction()
    {
    }

    public OperatorAction(Guid id, Guid operatorMemberId, string operatorSubject, OperatorActionKind kind, RequestKind targetKind, Guid targetId, string reason, DateTimeOffset at)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new DomainException("reason_required", "Say why: an operator action needs a reason.");
        }

        Id = id;
        OperatorMemberId = operatorMemberId;
        OperatorSubject = operatorSubject;
        Kind = kind;
        TargetKind = targetKind;
        TargetId = targetId;
        Reason = reason.Trim();
        Status = OperatorActionStatus.AwaitingTap;
        CreatedAt = at;
        UpdatedAt = at;
    }

    public Guid Id { get; private set; }
    public Guid OperatorMemberId { get; private set; }
    public string OperatorSubject { get; private set; } = "";
    public OperatorActionKind Kind { get; private set; }

    /// <summary>A withdrawal or a transfer.</summary>
    public RequestKind TargetKind { get; private set; }

    public Guid TargetId { get; private set; }
    public string Reason { get; private set; } = "";
    public OperatorActionStatus Status { get; private set; }

    /// <summary>What happened, in words, once it ended.</summary>
    public string? Result { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }
    public DateTimeOffset UpdatedAt { get; private set; }
    public uint Version { get; private set; }

    public string AuditSubject => $"{RequestKind.OperatorAction.ToWire()}:{Id}";
    public string TargetSubject => $"{TargetKind.ToWire()}:{TargetId}";
    public bool IsEnded => Status != OperatorActionStatus.AwaitingTap;

    /// <summary>Ends the action once; false when it had already ended.</summary>
    public bool End(OperatorActionStatus status, string result, DateTimeOffset at)
    {
        if (status == OperatorActionStatus.AwaitingTap)
        {
            throw new ArgumentOutOfRangeException(nameof(status), "An action cannot end awaiting the tap.");
        }

        if (IsEnded)
        {
            return false;
        }

        Status = status;
        Result = result;
        UpdatedAt = at;
        return true;
    }
}
