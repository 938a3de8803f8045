namespace Exchange.Domain.Audit;

/// <summary>
/// One line of the append-only audit trail: who did what to which subject, when, with what data.
/// Seq is handed out at insert; the chain columns are written once, by the sealer, after commit.
/// </summary>
public sealed class AuditEvent
{
    private AuditEvent()
    {
    }

    public AuditEvent(string actor, string action, string subject, string data, DateTimeOffset at)
    {
        Actor = actor;
        Action = action;
        Subject = subject;
        Data = data;
        At = at;
    }

    public long Seq { get; private set; }
    public DateTimeOffset At { get; private set; }

    /// <summary>"member:&lt;VivoKey subject&gt;", "operator:&lt;subject&gt;", "vivokey" or "system".</summary>
    public string Actor { get; private set; } = "";

    /// <summary>"withdrawal.requested", "withdrawal.approved", "callback.unknown_id", …</summary>
    public string Action { get; private set; } = "";

    /// <summary>"withdrawal:&lt;id&gt;", "transfer:&lt;id&gt;", "member:&lt;id&gt;", …</summary>
    public string Subject { get; private set; } = "";

    /// <summary>JSON of what changed.</summary>
    public string Data { get; private set; } = "{}";

    /// <summary>The event's place in the hash chain, given when it is sealed after its transaction committed.</summary>
    public long? ChainSeq { get; private set; }

    /// <summary>The hash of the event before it in the chain (32 zero bytes for the first).</summary>
    public byte[]? PrevHash { get; private set; }

    /// <summary>SHA-256 over PrevHash and the event's canonical text.</summary>
    public byte[]? Hash { get; private set; }

    public DateTimeOffset? SealedAt { get; private set; }
}

public static class Actors
{
    public const string System = "system";
    public const string VivoKey = "vivokey";

    public static string Member(string subject) => "member:" + subject;

    /// <summary>An operator acting on someone else's request, after confirming with their own implant.</summary>
    public static string Operator(string subject) => "operator:" + subject;

    /// <summary>A caller who was not signed in, by network address.</summary>
    public static string Anonymous(string address) => "anonymous:" + address;
}
