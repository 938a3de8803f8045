using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Ledger;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;
using Nethereum.Model;
using Nethereum.Signer;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// The signer trusts evidence, not a status: the application's database role can write "approved" on any row,
/// so before a withdrawal is signed, in the signing transaction (its row already locked), this checks what the
/// tap left behind. Its challenge ended in success for the same member; the challenge's stored message is the
/// one intake builds from the row's amount, asset and address; the journal holds exactly that amount for it;
/// and the challenge carries the approval proof only a success callback leaves (a MAC under a key derived from
/// VivoKey:ChallengeKey, which the database never holds, over the challenge and the row's member, asset,
/// amount and full address), so rows written to look tapped by the database's own roles are refused. A
/// withdrawal that fails any check is marked tampered (audited as withdrawal.tampered, counted, logged as an
/// error) and never signed; its funds stay held until an operator decides. A fee replacement, signed later
/// from the same row, is held to the hot wallet's own first signature instead (<see cref="ProvesReplacementAsync"/>).
/// </summary>
public sealed class SigningEvidence(ExchangeDbContext db, ChallengeKeys keys, HotWalletAddress hotWallet, TimeProvider clock, ILogger<SigningEvidence> logger)
{
    /// <summary>The names of the checks, as the audit event and the log line give them.</summary>
    public const string ChallengeSucceeded = "challenge_succeeded";
    public const string MessageMatches = "challenge_message_matches";
    public const string HoldInJournal = "hold_in_journal";
    public const string ApprovalProven = "approval_proven";

    /// <summary>The names of the checks before a fee replacement, on the newest stored transaction of the withdrawal.</summary>
    public const string SignedByHotWallet = "signed_by_hot_wallet";
    public const string NonceMatches = "nonce_matches";
    public const string PaysTheSame = "pays_the_same";

    private const string TamperedAction = "withdrawal.tampered";

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

    /// <summary>
    /// Before a fee replacement is signed, in its transaction (the row locked): a genuine replacement pays exactly what
    /// the transaction in force pays, and the first of those was signed by the hot wallet after the checks above, a
    /// signature the application's role cannot forge. So the newest stored bytes must carry the hot wallet's signature,
    /// the withdrawal's nonce, and the recipient, value and data of <paramref name="replacement"/>. If not, the row or the
    /// bytes were written behind the application: nothing is signed, and the first time it is audited as
    /// withdrawal.tampered, counted and logged as an error (the watcher comes back every few seconds; one alert is
    /// enough). The status stays: the transaction in force is the hot wallet's own and may still be mined and settled.
    /// </summary>
    public Task<bool> ProvesReplacementAsync(Withdrawal withdrawal, WithdrawalTransaction newest, TransferIntent replacement, CancellationToken cancellationToken) =>
        ProvesAsync(withdrawal, newest, replacement, [], "Not replaced", cancellationToken);

    /// <summary>
    /// Before a withdrawal whose nonce another transaction took is signed again at a fresh nonce (<see cref="ResignTakenNonce"/>):
    /// what a replacement must prove (the newest stored bytes are the hot wallet's own, at the old nonce, paying what
    /// <paramref name="atOldNonce"/> pays) and, as a new nonce could pay twice, what a first signature must prove as well
    /// (<see cref="FailedChecksAsync"/>: the tap's evidence and the hold, still in the journal). Audited once, as a replacement's.
    /// </summary>
    public async Task<bool> ProvesResigningAsync(Withdrawal withdrawal, WithdrawalTransaction newest, TransferIntent atOldNonce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(withdrawal);
        var approval = (await FailedChecksAsync([withdrawal], cancellationToken))[withdrawal.Id];
        return await ProvesAsync(withdrawal, newest, atOldNonce, approval, "Not signed again", cancellationToken);
    }

    private async Task<bool> ProvesAsync(
        Withdrawal withdrawal, WithdrawalTransaction newest, TransferIntent intent, IReadOnlyList<string> otherFailures, string refused, CancellationToken cancellationToken)
    {
        var failed = ReplacementFailures(newest.RawTransaction, withdrawal.Nonce, intent).Concat(otherFailures).ToList();
        var subject = withdrawal.AuditSubject;
        if (failed.Count == 0 || await db.AuditEvents.AsNoTracking().AnyAsync(a => a.Subject == subject && a.Action == TamperedAction, cancellationToken))
        {
            return failed.Count == 0;
        }

        var (checks, status, id, hash) = (string.Join(", ", failed), withdrawal.Status.ToWire(), withdrawal.Id, newest.Hash);
        db.Audit(TamperedAction, subject, new
        {
            from = status,
            status,
            error = $"{refused}: the row does not match the transaction the hot wallet signed ({checks}); an operator must look.",
            hash,
        }, clock.GetUtcNow());
        db.WhenCommitted(() =>
        {
            ExchangeMetrics.WithdrawalsTampered.Add(1);
            logger.LogError(
                "Withdrawal {WithdrawalId} no longer matches the transaction the hot wallet signed ({FailedChecks}, newest {Hash}): {Refused}; an operator must look",
                id, checks, hash, refused);
        });
        return false;
    }

    /// <summary>The replacement checks <paramref name="rawTransaction"/> fails (none: a replacement of it may be signed).</summary>
    private List<string> ReplacementFailures(string rawTransaction, long? nonce, TransferIntent replacement)
    {
        Transaction1559? signed;
        string? signer;
        try
        {
            signed = TransactionFactory.CreateTransaction(rawTransaction) as Transaction1559;
            signer = signed is null ? null : TransactionVerificationAndRecovery.GetSenderAddress(signed);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Bytes the decoder refuses (it throws a plain Exception for some) are bytes the hot wallet never signed.
            (signed, signer) = (null, null);
        }

        if (signed is null)
        {
            return [SignedByHotWallet, NonceMatches, PaysTheSame];
        }

        var failed = new List<string>(3);
        if (!SameAddress(signer, hotWallet.Value))
        {
            failed.Add(SignedByHotWallet);
        }

        if (nonce is null || signed.Nonce != nonce || signed.Nonce != replacement.Nonce)
        {
            failed.Add(NonceMatches);
        }

        if (!SameAddress(signed.ReceiverAddress, replacement.To) || signed.Amount != replacement.ValueWei || signed.Data is not (null or "" or "0x"))
        {
            failed.Add(PaysTheSame);
        }

        return failed;
    }

    private static bool SameAddress(string? a, string? b) => a is not null && b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>Per withdrawal, the checks it fails (none: its approval is what the member tapped for). Two queries for the whole batch.</summary>
    public async Task<IReadOnlyDictionary<Guid, IReadOnlyList<string>>> FailedChecksAsync(IReadOnlyCollection<Withdrawal> withdrawals, CancellationToken cancellationToken)
    {
        var ids = withdrawals.Select(w => w.Id).ToArray();
        var challenges = await db.Challenges.AsNoTracking()
            .Where(c => ids.Contains(c.RequestId) && c.RequestKind == RequestKind.Withdrawal)
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
