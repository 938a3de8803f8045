namespace Exchange.Domain.Common;

/// <summary>Where a withdrawal or transfer stands. Stored and sent as the snake_case name.</summary>
public enum RequestStatus
{
    PendingApproval,
    Approved,
    Signed,
    Broadcast,
    Confirmed,
    Declined,
    Expired,
    TokenExpired,
    Rejected,
    Cancelled,
    Failed,

    /// <summary>
    /// Refused by the signer: the row said approved, but the evidence (the tap, the message, the hold) did not
    /// match. Nothing was signed and the funds stay held until an operator decides.
    /// </summary>
    Tampered,
}

public static class RequestStatuses
{
    private static readonly Dictionary<RequestStatus, string> Wire = new()
    {
        [RequestStatus.PendingApproval] = "pending_approval",
        [RequestStatus.Approved] = "approved",
        [RequestStatus.Signed] = "signed",
        [RequestStatus.Broadcast] = "broadcast",
        [RequestStatus.Confirmed] = "confirmed",
        [RequestStatus.Declined] = "declined",
        [RequestStatus.Expired] = "expired",
        [RequestStatus.TokenExpired] = "token_expired",
        [RequestStatus.Rejected] = "rejected",
        [RequestStatus.Cancelled] = "cancelled",
        [RequestStatus.Failed] = "failed",
        [RequestStatus.Tampered] = "tampered",
    };

    private static readonly Dictionary<string, RequestStatus> FromWire = Wire.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public static string ToWire(this RequestStatus status) => Wire[status];

    public static bool TryParse(string? wire, out RequestStatus status) => FromWire.TryGetValue(wire ?? "", out status);

    public static RequestStatus Parse(string wire) =>
        TryParse(wire, out var status) ? status : throw new FormatException($"Unknown status '{wire}'.");

    /// <summary>The ends before signing: only these give the held funds back.</summary>
    public static bool ReleasesFunds(this RequestStatus status) => status is RequestStatus.Declined or RequestStatus.Expired
        or RequestStatus.TokenExpired or RequestStatus.Rejected or RequestStatus.Cancelled or RequestStatus.Failed;

    public static bool IsFinal(this RequestStatus status) => status == RequestStatus.Confirmed || status.ReleasesFunds();
}
