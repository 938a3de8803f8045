using System.Numerics;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Requests;

/// <summary>Limits on what one member may ask for, bound from the <c>Exchange</c> section.</summary>
public sealed class RequestLimitOptions
{
    /// <summary>
    /// Withdrawals and transfers one member may have awaiting the tap or the signer (pending_approval, approved) at once.
    /// A flood of requests would otherwise hold funds and send challenges without bound.
    /// </summary>
    public int MaxPendingPerMember { get; set; } = 5;

    /// <summary>The smallest withdrawal per asset, a decimal string in the asset's unit: less is not worth a transaction's fee.</summary>
    public Dictionary<string, string> MinimumWithdrawal { get; set; } = new(StringComparer.Ordinal) { ["ETH"] = "0.001" };

    /// <summary>Null when every minimum is a valid amount of a known asset; otherwise what is wrong.</summary>
    public string? Problem() =>
        MaxPendingPerMember < 1 ? "Exchange:MaxPendingPerMember must be at least 1."
        : MinimumWithdrawal.Where(m => Asset.Find(m.Key) is not { } asset || !Amounts.TryParse(m.Value, asset, out _, out _))
            .Select(m => $"Exchange:MinimumWithdrawal:{m.Key} must be a decimal amount of a known asset, not '{m.Value}'.").FirstOrDefault();
}

/// <summary>Checks a new withdrawal or transfer against the member's limits, inside the request's transaction.</summary>
public sealed class RequestLimits(ExchangeDbContext db, IOptions<RequestLimitOptions> options)
{
    /// <summary>
    /// Refuses (409) a request beyond <see cref="RequestLimitOptions.MaxPendingPerMember"/>. The member's row is locked
    /// first (before any balance), so two requests racing for the last place are counted one after the other.
    /// </summary>
    public async Task EnsureRoomForAnotherAsync(Guid memberId, CancellationToken cancellationToken)
    {
        var max = options.Value.MaxPendingPerMember;
        await db.Database.ExecuteSqlAsync($"SELECT 1 FROM members WHERE id = {memberId} FOR NO KEY UPDATE", cancellationToken);
        var awaiting = await db.Database.SqlQuery<int>(
            $"""
            SELECT (SELECT count(*) FROM withdrawals WHERE member_id = {memberId} AND status IN ('pending_approval', 'approved'))::int
                 + (SELECT count(*) FROM transfers WHERE member_id = {memberId} AND status IN ('pending_approval', 'approved'))::int AS "Value"
            """).SingleAsync(cancellationToken);
        if (awaiting >= max)
        {
            throw new ConflictException(
                $"You have {awaiting} requests waiting for approval, the most allowed at once ({max}): approve, decline or cancel one first.");
        }
    }

    /// <summary>Refuses (422, naming the amount) a withdrawal under the asset's configured minimum.</summary>
    public void EnsureAtLeastMinimum(Asset asset, BigInteger amount)
    {
        if (options.Value.MinimumWithdrawal.TryGetValue(asset.Code, out var text)
            && Amounts.TryParse(text, asset, out var minimum, out _) && amount < minimum)
        {
            throw new UnprocessableException($"The smallest withdrawal of {asset.Code} is {Amounts.Format(minimum, asset)}.", "amount");
        }
    }
}
