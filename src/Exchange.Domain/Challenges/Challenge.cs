using Exchange.Domain.Common;

namespace Exchange.Domain.Challenges;

public enum ChallengeState
{
    /// <summary>Created with its request; not yet accepted by VivoKey.</summary>
    Sending,
    /// <summary>VivoKey accepted it and gave a vivo_id; waiting for the member.</summary>
    Accepted,
    Ended,
}

/// <summary>
/// The validation challenge of one withdrawal or transfer, as the exchange tracks it. The callback
/// may come before the POST's answer is stored, twice, late or never: Ended is reached once.
/// </summary>
public sealed class Challenge
{
    private Challenge()
    {
    }

    public Challenge(Guid id, ApprovalRequest request, byte[] idHash, byte[] sealedId, string message, DateTimeOffset createdAt, DateTimeOffset deadline)
        : this(id, request.Kind, request.Id, request.MemberId, idHash, sealedId, message, createdAt, deadline)
    {
    }

    /// <summary>A challenge for something other than a trader's request: an operator's action, confirmed by the operator.</summary>
    public Challenge(Guid id, RequestKind requestKind, Guid requestId, Guid memberId, byte[] idHash, byte[] sealedId, string message, DateTimeOffset createdAt, DateTimeOffset deadline)
    {
        SealedId = sealedId;
        Id = id;
        RequestId = requestId;
        RequestKind = requestKind;
        MemberId = memberId;
        IdHash = idHash;
        Message = message;
        CreatedAt = createdAt;
        Deadline = deadline;
        State = ChallengeState.Sending;
        NextSendAt = createdAt;
    }

    public Guid Id { get; private set; }
    public Guid RequestId { get; private set; }
    /// <summary>What the tap approves.</summary>
    public RequestKind RequestKind { get; private set; }
    public Guid MemberId { get; private set; }

    /// <summary>SHA-256 of the id sent to VivoKey; the id itself is never stored.</summary>
    public byte[] IdHash { get; private set; } = [];

    /// <summary>
    /// The id encrypted under a key only the application holds (not the database), so a retried
    /// send repeats the same id. Wiped once VivoKey has it or the challenge has ended.
    /// </summary>
    public byte[]? SealedId { get; private set; }

    /// <summary>The vivo_id of the callback that decided, or else the first VivoKey gave for the live id.</summary>
    public string? VivoId { get; private set; }

    /// <summary>
    /// Every vivo_id VivoKey gave for the live id: a resent id may open a second challenge on the member's phone
    /// when VivoKey does not de-duplicate ids. The first callback for any of them decides.
    /// </summary>
    public List<string> VivoIds { get; private set; } = [];

    /// <summary>POSTs of the live id whose answer never came: each may have opened a challenge whose vivo_id we never saw.</summary>
    public int UnansweredSends { get; private set; }

    /// <summary>The generation of the member's tokens (MemberToken.Generation) the last accepted POST used.</summary>
    public int? TokenGeneration { get; private set; }

    /// <summary>Set by a re-issue: VivoKey called that generation expired, so the next send must not use it again.</summary>
    public int? RejectedTokenGeneration { get; private set; }

    /// <summary>How often the challenge was issued again under a new id (a token-expired callback for a replaced token).</summary>
    public int Reissues { get; private set; }
    public string Message { get; private set; } = "";
    public DateTimeOffset CreatedAt { get; private set; }
    public DateTimeOffset Deadline { get; private set; }
    public ChallengeState State { get; private set; }

    /// <summary>How it ended: success, declined, timeout, token-expired, or an end of our own (rejected, failed, cancelled, expired).</summary>
    public string? Outcome { get; private set; }

    public DateTimeOffset? EndedAt { get; private set; }
    public int SendAttempts { get; private set; }
    public DateTimeOffset? NextSendAt { get; private set; }
    public string? LastSendError { get; private set; }

    /// <summary>
    /// Set with a success: a MAC, under a key the database never holds, over the challenge and what it approved.
    /// The signer recomputes it, so a row written to look approved by anyone holding only the database is refused.
    /// </summary>
    public byte[]? ApprovalProof { get; private set; }
    public uint Version { get; private set; }

    public bool IsEnded => State == ChallengeState.Ended;

    /// <summary>VivoKey answered accepted: true. A callback may already have ended the challenge; the vivo_id is kept either way.</summary>
    public void RecordAccepted(string? vivoId, int? tokenGeneration = null)
    {
        VivoId ??= vivoId;
        if (vivoId is not null && !VivoIds.Contains(vivoId))
        {
            VivoIds.Add(vivoId);
        }

        TokenGeneration = tokenGeneration ?? TokenGeneration;
        NextSendAt = null;
        SealedId = null;
        if (State == ChallengeState.Sending)
        {
            State = ChallengeState.Accepted;
        }
    }

    /// <summary>
    /// Whether a callback naming <paramref name="vivoId"/> may be for the live id: one VivoKey gave us, or any while
    /// none was given, or one a POST whose answer was lost may have opened.
    /// </summary>
    public bool MayCarry(string? vivoId) =>
        VivoIds.Count == 0 || vivoId is null || VivoIds.Contains(vivoId) || UnansweredSends > 0;

    /// <summary>The callback that decides names its vivo_id: that one is recorded as the deciding one.</summary>
    public void RecordDecidingCallback(string? vivoId)
    {
        if (vivoId is null)
        {
            return;
        }

        VivoId = vivoId;
        if (!VivoIds.Contains(vivoId))
        {
            VivoIds.Add(vivoId);
        }
    }

    /// <summary>A POST of the live id got no answer: VivoKey may have opened a challenge we will only know by its callback.</summary>
    public void RecordUnansweredSend() => UnansweredSends++;

    /// <summary>
    /// Issues the challenge again under a new id, its deadline unchanged: VivoKey called the token of the last POST
    /// expired, and the member has a newer one. The old id is dead from now on (the caller retires its hash).
    /// </summary>
    public void Reissue(byte[] idHash, byte[] sealedId, DateTimeOffset at)
    {
        if (State == ChallengeState.Ended)
        {
            throw new InvalidOperationException("An ended challenge is never issued again.");
        }

        IdHash = idHash;
        SealedId = sealedId;
        RejectedTokenGeneration = TokenGeneration;
        TokenGeneration = null;
        VivoId = null;
        VivoIds = [];
        UnansweredSends = 0;
        Reissues++;
        State = ChallengeState.Sending;
        NextSendAt = at;
    }

    public void RecordSendFailure(string error, DateTimeOffset? nextAttemptAt)
    {
        SendAttempts++;
        LastSendError = error;
        NextSendAt = nextAttemptAt;
    }

    public void RecordSendAttempt() => SendAttempts++;

    /// <summary>An operator asked for another send now: only while VivoKey has not accepted it.</summary>
    public bool SendAgainAt(DateTimeOffset at)
    {
        if (State != ChallengeState.Sending)
        {
            return false;
        }

        NextSendAt = at;
        return true;
    }

    /// <summary>Ends the challenge once; false when it had already ended.</summary>
    public bool End(string outcome, DateTimeOffset at, string? vivoId = null)
    {
        if (State == ChallengeState.Ended)
        {
            return false;
        }

        VivoId ??= vivoId;
        State = ChallengeState.Ended;
        Outcome = outcome;
        EndedAt = at;
        NextSendAt = null;
        SealedId = null;
        return true;
    }

    /// <summary>Records the proof of a success callback, once, on a challenge that has just ended in success.</summary>
    public void RecordApprovalProof(byte[] proof)
    {
        if (Outcome != "success" || ApprovalProof is not null)
        {
            throw new InvalidOperationException("Only a challenge that has just ended in success takes an approval proof, once.");
        }

        ApprovalProof = proof;
    }

    /// <summary>The status the request takes for a VivoKey callback outcome.</summary>
    public static RequestStatus StatusFor(bool success, string? error) => success
        ? RequestStatus.Approved
        : error switch
        {
            "declined" => RequestStatus.Declined,
            "timeout" => RequestStatus.Expired,
            "token-expired" => RequestStatus.TokenExpired,
            // An error the reference does not name still ends the request without moving money.
            _ => RequestStatus.Declined,
        };
}
