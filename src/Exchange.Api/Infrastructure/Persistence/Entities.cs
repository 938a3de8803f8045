namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>A trader, created at their first VivoKey sign-in.</summary>
public sealed class Member
{
    public Guid Id { get; set; }

    /// <summary>The VivoKey subject ("sub"): who the member is, whatever their name or email become.</summary>
    public string Subject { get; set; } = "";

    /// <summary>The account handle the exchange issued ("EX-7KQ2-9M4D"): how transfers address the member.</summary>
    public string Handle { get; set; } = "";

    /// <summary>As VivoKey passed it on (unverified), with control and bidirectional characters removed.</summary>
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LastSignInAt { get; set; }
}

/// <summary>
/// A role granted to a member. Granted by configuration (a VivoKey subject, never an email), written here at
/// start-up and at each sign-in, so every instance and the audit trail see the same grants.
/// </summary>
public sealed class MemberRole
{
    public Guid MemberId { get; set; }
    public string Role { get; set; } = "";
    public DateTimeOffset GrantedAt { get; set; }

    /// <summary>Where the grant came from: "configuration".</summary>
    public string Source { get; set; } = "";
}

/// <summary>The member's VivoKey tokens, encrypted at rest with ASP.NET Data Protection.</summary>
public sealed class MemberToken
{
    public Guid MemberId { get; set; }
    public string ProtectedAccessToken { get; set; } = "";
    public string? ProtectedRefreshToken { get; set; }
    public DateTimeOffset AccessTokenExpiresAt { get; set; }

    /// <summary>Set when VivoKey says the token expired and no refresh helped: the member must sign in again.</summary>
    public bool Unusable { get; set; }

    /// <summary>
    /// Counts the access tokens this row has held: one more at each sign-in and each refresh. A challenge records the
    /// generation its POST used, so a token-expired answer for an older one is known to be about a replaced token.
    /// </summary>
    public int Generation { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
    public uint Version { get; set; }
}

/// <summary>
/// An id a challenge was sent under and is no longer: it was issued again under a new one. A callback for it changes
/// nothing, is answered 409 and audited.
/// </summary>
public sealed class RetiredChallengeId
{
    /// <summary>SHA-256 of the id, as <c>challenges.id_hash</c> held it.</summary>
    public byte[] IdHash { get; set; } = [];
    public Guid ChallengeId { get; set; }
    public DateTimeOffset RetiredAt { get; set; }
    public string Reason { get; set; } = "";
}

/// <summary>The hot wallet's next nonce. Allocated under a row lock, never taken from the chain's word.</summary>
public sealed class HotWalletState
{
    public string Address { get; set; } = "";
    public long NextNonce { get; set; }
}

/// <summary>Every transaction a withdrawal ever had (replacements included), stored before it is broadcast.</summary>
public sealed class WithdrawalTransaction
{
    public long Id { get; set; }
    public Guid WithdrawalId { get; set; }
    public long Nonce { get; set; }
    public string Hash { get; set; } = "";
    public string RawTransaction { get; set; } = "";
    public string MaxFeePerGas { get; set; } = "";
    public string MaxPriorityFeePerGas { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastBroadcastAt { get; set; }
}

/// <summary>The first answer to a state-changing request with an Idempotency-Key, replayed for repeats.</summary>
public sealed class IdempotencyRecord
{
    public Guid MemberId { get; set; }
    public string Key { get; set; } = "";
    public string Operation { get; set; } = "";

    /// <summary>SHA-256 (hex) of the operation and the command's fields: a repeat must be the same request. Null on keys stored before it was kept.</summary>
    public string? RequestHash { get; set; }

    public int StatusCode { get; set; }
    public string ResponseJson { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}
