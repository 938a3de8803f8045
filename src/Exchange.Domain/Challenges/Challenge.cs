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

    public string? VivoId { get; private set; }
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
    public void RecordAccepted(string? vivoId)
    {
        VivoId ??= vivoId;
        NextSendAt = null;
        SealedId = null;
        if (State == ChallengeState.Sending)
        {
            State = ChallengeState.Accepted;
        }
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
