using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Ledger;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// The signer trusts evidence, not a status: the application's database role can write "approved" on any row,
/// so before a withdrawal is signed, in the signing transaction (its row already locked), this checks what the
/// tap left behind. Its challenge ended in success for the same member; the challenge's stored message is the
/// one intake builds from the row's amount, asset and address; the journal holds exactly that amount for it;
/// and the challenge carries the approval proof only a success callback leaves (a MAC under a key derived from
/// VivoKey:ChallengeKey, which the database never holds, over the challenge and the row's member, asset,
/// amount and full address), so rows written to look tapped by the database's own roles are refused. A withdrawal that fails any check is marked tampered (audited as withdrawal.tampered, counted, logged as
/// an error) and never signed; its funds stay held until an operator decides.
/// </summary>
public sealed class SigningEvidence(ExchangeDbContext db, ChallengeKeys keys, TimeProvider clock, ILogger<SigningEvidence> logger)
{
    /// <summary>The names of the checks, as the audit event and the log line give them.</summary>
    public const string ChallengeSucceeded = "challenge_succeeded";
    public const string MessageMatches = "challenge_message_matches";
    public const string HoldInJournal = "hold_in_journal";
    public const string ApprovalProven = "approval_proven";

    /// <summary>
    /// Marks every locked, approved withdrawal whose evidence fails as tampered, in the caller's transaction, and
    /// returns the others, in order: the ones that may be signed.
    /// </summary>
    public async Task<IReadOnlyList<Withdrawal>> KeepProvenAsync(IReadOnlyList<Withdrawal> withdrawals, CancellationToken cancellationToken)
    {
        var failures = await FailedChecksAsync(withdrawals, cancellationToken);
        var proven = new List<Withdrawal>(withdrawals.Count);
        var now = clock.GetUtcNow();
        foreach (var withdrawal in withdrawals)
        {
            if (failures[withdrawal.Id] is not { Count: > 0 } failed)
            {
                proven.Add(withdrawal);
                continue;
            }

            var checks = string.Join(", ", failed);
            // The status change writes the withdrawal.tampered audit event and counts the metric when it commits.
            withdrawal.MarkTampered($"Not signed: the evidence behind the approval does not match ({checks}); the funds stay held until an operator decides.", now);
            var id = withdrawal.Id;
            db.WhenCommitted(() => logger.LogError(
                "Withdrawal {WithdrawalId} was approved in the database without matching evidence ({FailedChecks}): not signed, marked tampered; an operator must look",
                id, checks));
        }

        return proven;
    }

    /// <summary>Per withdrawal, the checks it fails (none: its approval is what the member tapped for). Two queries for the whole batch.</summary>
    public async Task<IReadOnlyDictionary<Guid, IReadOnlyList<string>>> FailedChecksAsync(IReadOnlyCollection<Withdrawal> withdrawals, CancellationToken cancellationToken)
    {
        var ids = withdrawals.Select(w => w.Id).ToArray();
        var challenges = await db.Challenges.AsNoTracking()
            .Where(c => ids.Contains(c.RequestId) && c.RequestKind == "withdrawal")
            .ToDictionaryAsync(c => c.RequestId, cancellationToken);
        var journal = (await db.JournalEntries.AsNoTracking()
            .Where(j => j.RequestId != null && ids.Contains(j.RequestId.Value))
            .ToListAsync(cancellationToken)).ToLookup(j => j.RequestId!.Value);

        return withdrawals.ToDictionary(w => w.Id, IReadOnlyList<string> (w) =>
        {
            var failed = new List<string>(4);
            challenges.TryGetValue(w.Id, out var challenge);
            if (challenge is not { State: ChallengeState.Ended, Outcome: "success" } || challenge.MemberId != w.MemberId)
            {
                failed.Add(ChallengeSucceeded);
            }

            if (challenge is null || ExpectedMessage(w) is not { } expected || !string.Equals(expected, challenge.Message, StringComparison.Ordinal))
            {
                failed.Add(MessageMatches);
            }

            if (!HoldsExactly(journal[w.Id].ToList(), w))
            {
                failed.Add(HoldInJournal);
            }

            // The one check the database's own roles cannot satisfy: a MAC only a success callback could have left.
            if (challenge is null || !keys.IsApprovalProven(challenge, w))
            {
                failed.Add(ApprovalProven);
            }

            return failed;
        });
    }

    /// <summary>
    /// The message intake showed on the phone for this row: the very builder intake calls, so the two agree
    /// whatever the format. Null when the row cannot produce one (an unknown asset, say): that is a mismatch.
    /// </summary>
    private static string? ExpectedMessage(Withdrawal withdrawal)
    {
        if (Asset.Find(withdrawal.Asset) is not { } asset)
        {
            return null;
        }

        return ChallengeMessage.TryForWithdrawal(withdrawal.Amount, asset, withdrawal.ToAddress, out var message) ? message : null;
    }

    /// <summary>One hold of exactly the amount, for this member and asset, and nothing since that gave it back or spent it.</summary>
    private static bool HoldsExactly(List<JournalEntry> rows, Withdrawal withdrawal)
    {
        var holds = rows.Where(r => r.Kind == JournalKind.Hold).ToList();
        return holds.Count == 1
            && holds[0].HeldDelta == withdrawal.Amount
            && holds[0].AvailableDelta == -withdrawal.Amount
            && rows.All(r => r.MemberId == withdrawal.MemberId && r.Asset == withdrawal.Asset)
            && rows.Aggregate(System.Numerics.BigInteger.Zero, (sum, r) => sum + r.HeldDelta) == withdrawal.Amount;
    }
}
