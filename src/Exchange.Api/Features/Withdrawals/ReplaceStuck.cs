using System.Globalization;
using System.Numerics;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// A transaction unmined for Ethereum:ReplaceAfterSeconds is replaced at the same nonce, both fee caps
/// raised by at least FeeBumpPercent (or to the current quote, if higher). The replacement is stored
/// before it is sent, beside every earlier hash, and whichever of them is mined counts, once: they
/// share a nonce, so at most one can be. Only what the hot wallet signed first is ever re-signed
/// (<see cref="SigningEvidence.ProvesReplacementAsync"/>).
/// </summary>
public sealed class ReplaceStuck(
    ExchangeDbContext db,
    HotWallet hotWallet,
    EthereumChain chain,
    SigningEvidence evidence,
    Infrastructure.CrashPoints crash,
    TimeProvider clock,
    IOptions<EthereumOptions> options,
    ILogger<ReplaceStuck> logger)
{
    public async Task RunAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.ReplaceAfterSeconds <= 0)
        {
            return;
        }

        var transactions = await db.WithdrawalTransactions.AsNoTracking()
            .Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).ToListAsync(cancellationToken);
        var latest = transactions.FirstOrDefault();
        if (latest is null || clock.GetUtcNow() - latest.CreatedAt < TimeSpan.FromSeconds(settings.ReplaceAfterSeconds))
        {
            return;
        }

        foreach (var stored in transactions)
        {
            if (await chain.GetReceiptAsync(stored.Hash, cancellationToken) is not null)
            {
                return;
            }
        }

        var previous = new FeeQuote(
            BigInteger.Parse(latest.MaxFeePerGas, CultureInfo.InvariantCulture),
            BigInteger.Parse(latest.MaxPriorityFeePerGas, CultureInfo.InvariantCulture));
        if (EthereumChain.Bump(previous, await chain.QuoteFeesAsync(cancellationToken), settings.FeeBumpPercent, chain.MaxFeePerGas) is not { } fees)
        {
            logger.LogWarning("Not replacing {Hash}: the least replacement passes Ethereum:MaxFeePerGasGwei ({MaxFeePerGas} wei); it waits at its fees", latest.Hash, chain.MaxFeePerGas);
            return;
        }

        await db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.LockWithdrawalAsync(withdrawalId, cancellationToken)
                ?? throw new InvalidOperationException($"Withdrawal {withdrawalId} has transactions but no row.");
            // Replaced by another worker, settled meanwhile, or no longer what the hot wallet signed (audited as tampered): nothing to do.
            var newest = await db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).FirstAsync(cancellationToken);
            if (withdrawal.Status is not (RequestStatus.Signed or RequestStatus.Broadcast) || newest.Id != latest.Id || withdrawal.Nonce is not { } nonce
                || SignApproved.Intent(withdrawal, nonce, fees, settings) is var intent && !await evidence.ProvesReplacementAsync(withdrawal, newest, intent, cancellationToken))
            {
                return;
            }

            var now = clock.GetUtcNow();
            var signed = hotWallet.Sign(intent);
            SignApproved.Store(db, withdrawal, nonce, fees, signed, now);
            withdrawal.Replace(signed.RawHex, signed.Hash, now);
            db.Audit("withdrawal.transaction_replaced", withdrawal.AuditSubject, new
            {
                nonce,
                previous = latest.Hash,
                hash = signed.Hash,
                maxFeePerGas = fees.MaxFeePerGas.ToString(CultureInfo.InvariantCulture),
                maxPriorityFeePerGas = fees.MaxPriorityFeePerGas.ToString(CultureInfo.InvariantCulture),
            }, now);
            db.WhenCommitted(() => crash.At("after-replacement-stored"));
        }, cancellationToken);
    }
}
