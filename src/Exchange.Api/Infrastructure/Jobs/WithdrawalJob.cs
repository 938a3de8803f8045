using Exchange.Api.Features.Balances;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Audit;
using Exchange.Domain.Common;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>
/// Drives an approved withdrawal onto the chain: sign (nonce taken under the hot wallet's row lock,
/// the signed bytes and hash stored before anything is sent), broadcast the stored bytes, then watch
/// the receipt until enough confirmations. Each step starts from what the database says, so running
/// the job twice, or after a crash between any two steps, signs nothing twice.
/// </summary>
public sealed class WithdrawalJob(
    ExchangeDbContext db,
    HotWallet hotWallet,
    EthereumChain chain,
    LedgerPostings ledger,
    SigningEvidence evidence,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<EthereumOptions> options,
    CrashPoints crash,
    ILogger<WithdrawalJob> logger)
{
    /// <summary>How long one run watches for the receipt before leaving it to a later run.</summary>
    private static readonly TimeSpan ReceiptWatch = TimeSpan.FromSeconds(10);

    /// <summary>The advisory-lock class of "a job is working on this withdrawal".</summary>
    private const int WithdrawalLockClass = 7253020;

    /// <summary>The whole way, for the reconciler and retries: sign if approved, replace if stuck, broadcast, watch the receipt.</summary>
    public Task RunAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        WithLockAsync(withdrawalId, () => DriveAsync(withdrawalId, cancellationToken), cancellationToken);

    /// <summary>
    /// The fast path, the moment the tap is applied: sign and broadcast, then return. The confirmation
    /// watcher follows the receipt from there, for all broadcast withdrawals at once.
    /// </summary>
    public Task SignAndBroadcastAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        WithLockAsync(withdrawalId, async () =>
        {
            if (await SignIfApprovedAsync(withdrawalId, cancellationToken) == RequestStatus.Signed)
            {
                await BroadcastAsync(withdrawalId, cancellationToken);
            }
        }, cancellationToken);

    /// <summary>
    /// Signs every withdrawal of the batch that is still approved under one hold of the hot wallet's row
    /// lock: a nonce each, in order, and one commit for all (a commit waits for the disk, so a burst of taps
    /// costs one wait, not one each). Returns the ones signed; a withdrawal another worker holds is skipped.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> SignBatchAsync(IReadOnlyCollection<Guid> withdrawalIds, CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var ids = withdrawalIds.Distinct().ToArray();
        var fees = await chain.QuoteFeesAsync(cancellationToken);
        await EnsureHotWalletRowAsync(cancellationToken);
        var approved = RequestStatus.Approved.ToWire();
        var signed = await db.InTransactionAsync(async () =>
        {
            // The withdrawals first, then the wallet: the order every signer takes them in.
            var withdrawals = await db.Withdrawals
                .FromSql($"SELECT *, xmin FROM withdrawals WHERE id = ANY({ids}) AND status = {approved} ORDER BY id FOR UPDATE SKIP LOCKED")
                .ToListAsync(cancellationToken);
            return withdrawals.Count == 0 ? [] : await SignLockedAsync(withdrawals, fees, cancellationToken);
        }, cancellationToken);
        if (signed.Count > 0)
        {
            crash.At("after-sign");
        }

        return signed;
    }

    /// <summary>One look at the receipts of a broadcast withdrawal (the confirmation watcher's step), unless a job has it.</summary>
    public Task CheckOnceAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        WithLockAsync(withdrawalId, async () =>
        {
            db.Actor = Actors.System;
            var hashes = await HashesAsync(withdrawalId, cancellationToken);
            await CheckReceiptsAsync(withdrawalId, hashes, cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// For a transaction that has sat unmined (the confirmation watcher's other step): replace it once it is
    /// stuck long enough, send the stored bytes again (a node that dropped them gets them back), and look at
    /// the receipts once.
    /// </summary>
    public Task NudgeAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        WithLockAsync(withdrawalId, async () =>
        {
            db.Actor = Actors.System;
            if (await StatusAsync(withdrawalId, cancellationToken) is not (RequestStatus.Signed or RequestStatus.Broadcast))
            {
                return;
            }

            await ReplaceIfStuckAsync(withdrawalId, cancellationToken);
            await BroadcastAsync(withdrawalId, cancellationToken);
            await CheckReceiptsAsync(withdrawalId, await HashesAsync(withdrawalId, cancellationToken), cancellationToken);
        }, cancellationToken);

    private async Task WithLockAsync(Guid withdrawalId, Func<Task> work, CancellationToken cancellationToken)
    {
        // Every line this job logs names the withdrawal, whichever step logs it.
        using var scope = logger.BeginScope(LogFields.Withdrawal(withdrawalId));
        // One job per withdrawal at a time, across instances: the reconciler may enqueue it again while a job
        // still watches its receipt, and a duplicate must cost a lookup, not a worker for the whole watch.
        // A session lock: it dies with the connection, so a killed worker holds nothing up.
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var key = BitConverter.ToInt32(withdrawalId.ToByteArray(), 12);
            if (!await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_lock({WithdrawalLockClass}, {key}) AS \"Value\"").SingleAsync(cancellationToken))
            {
                return;
            }

            try
            {
                await work();
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({WithdrawalLockClass}, {key})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task DriveAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        if (await SignIfApprovedAsync(withdrawalId, cancellationToken) is RequestStatus.Signed or RequestStatus.Broadcast)
        {
            await ReplaceIfStuckAsync(withdrawalId, cancellationToken);
            await BroadcastAsync(withdrawalId, cancellationToken);
            await WatchAsync(withdrawalId, cancellationToken);
        }
    }

    /// <summary>Signs the withdrawal if it is approved; returns its status after.</summary>
    private async Task<RequestStatus?> SignIfApprovedAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var status = await StatusAsync(withdrawalId, cancellationToken);
        if (status == RequestStatus.Approved)
        {
            await SignAsync(withdrawalId, cancellationToken);
            crash.At("after-sign");
            status = await StatusAsync(withdrawalId, cancellationToken);
        }

        return status;
    }

    private Task<RequestStatus?> StatusAsync(Guid id, CancellationToken cancellationToken) =>
        db.Withdrawals.AsNoTracking().Where(w => w.Id == id).Select(w => (RequestStatus?)w.Status).SingleOrDefaultAsync(cancellationToken);

    private async Task SignAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var fees = await chain.QuoteFeesAsync(cancellationToken);
        await EnsureHotWalletRowAsync(cancellationToken);
        await db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.Withdrawals
                .FromSql($"SELECT *, xmin FROM withdrawals WHERE id = {withdrawalId} FOR UPDATE")
                .SingleAsync(cancellationToken);
            if (withdrawal.Status == RequestStatus.Approved)
            {
                await SignLockedAsync([withdrawal], fees, cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Signs locked, approved withdrawals in the caller's transaction: the hot wallet's row lock next (one nonce
    /// per withdrawal, never two withdrawals per nonce, across instances), a nonce each in order, the signatures
    /// on every core (each is milliseconds of CPU), and the bytes, hash and audit event stored before any is sent.
    /// Only those whose evidence holds are signed (the rest are marked tampered); returns the ids signed.
    /// </summary>
    private async Task<List<Guid>> SignLockedAsync(IReadOnlyList<Withdrawal> locked, FeeQuote fees, CancellationToken cancellationToken)
    {
        var withdrawals = await evidence.KeepProvenAsync(locked, cancellationToken);
        var wallet = await db.HotWallets
            .FromSql($"SELECT * FROM hot_wallets WHERE address = {hotWallet.Address} FOR UPDATE")
            .SingleAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var nonces = withdrawals.Select(_ => wallet.NextNonce++).ToArray();
        var signatures = new SignedTransaction[withdrawals.Count];
        Parallel.For(0, withdrawals.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => signatures[i] = hotWallet.Sign(Intent(withdrawals[i], nonces[i], fees)));
        for (var i = 0; i < withdrawals.Count; i++)
        {
            var (withdrawal, nonce, transaction) = (withdrawals[i], nonces[i], signatures[i]);
            Store(withdrawal, nonce, fees, transaction, now);
            withdrawal.MarkSigned(nonce, transaction.RawHex, transaction.Hash, now);
            db.Audit("withdrawal.transaction_signed", withdrawal.AuditSubject, new { nonce, hash = transaction.Hash, from = hotWallet.Address }, now);
        }

        return withdrawals.Select(w => w.Id).ToList();
    }

    private TransferIntent Intent(Withdrawal withdrawal, long nonce, FeeQuote fees)
    {
        var settings = options.Value;
        return new TransferIntent(
            withdrawal.ToAddress, withdrawal.Amount, nonce, fees.MaxFeePerGas, fees.MaxPriorityFeePerGas, settings.GasLimit, settings.ChainId);
    }

    private void Store(Withdrawal withdrawal, long nonce, FeeQuote fees, SignedTransaction signed, DateTimeOffset now) =>
        db.WithdrawalTransactions.Add(new WithdrawalTransaction
        {
            WithdrawalId = withdrawal.Id,
            Nonce = nonce,
            Hash = signed.Hash,
            RawTransaction = signed.RawHex,
            MaxFeePerGas = fees.MaxFeePerGas.ToString(System.Globalization.CultureInfo.InvariantCulture),
            MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CreatedAt = now,
        });

    /// <summary>The first time a hot wallet is used, its next nonce is the chain's count; after that, ours.</summary>
    private async Task EnsureHotWalletRowAsync(CancellationToken cancellationToken)
    {
        if (await db.HotWallets.AsNoTracking().AnyAsync(w => w.Address == hotWallet.Address, cancellationToken))
        {
            return;
        }

        var nonce = (long)await chain.GetPendingNonceAsync(hotWallet.Address, cancellationToken);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO hot_wallets (address, next_nonce) VALUES ({hotWallet.Address}, {nonce}) ON CONFLICT DO NOTHING",
            cancellationToken);
    }

    /// <summary>
    /// A transaction unmined for Ethereum:ReplaceAfterSeconds is replaced at the same nonce, both fee caps
    /// raised by at least FeeBumpPercent (or to the current quote, if higher). The replacement is stored
    /// before it is sent, beside every earlier hash, and whichever of them is mined counts, once: they
    /// share a nonce, so at most one can be.
    /// </summary>
    private async Task ReplaceIfStuckAsync(Guid withdrawalId, CancellationToken cancellationToken)
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
            System.Numerics.BigInteger.Parse(latest.MaxFeePerGas, System.Globalization.CultureInfo.InvariantCulture),
            System.Numerics.BigInteger.Parse(latest.MaxPriorityFeePerGas, System.Globalization.CultureInfo.InvariantCulture));
        if (EthereumChain.Bump(previous, await chain.QuoteFeesAsync(cancellationToken), settings.FeeBumpPercent, chain.MaxFeePerGas) is not { } fees)
        {
            logger.LogWarning("Not replacing {Hash}: the least replacement passes Ethereum:MaxFeePerGasGwei ({MaxFeePerGas} wei); it waits at its fees", latest.Hash, chain.MaxFeePerGas);
            return;
        }

        await db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.Withdrawals
                .FromSql($"SELECT *, xmin FROM withdrawals WHERE id = {withdrawalId} FOR UPDATE")
                .SingleAsync(cancellationToken);
            // Replaced by another worker, settled meanwhile, or no longer what the hot wallet signed (audited as tampered): nothing to do.
            var newest = await db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).FirstAsync(cancellationToken);
            if (withdrawal.Status is not (RequestStatus.Signed or RequestStatus.Broadcast) || newest.Id != latest.Id || withdrawal.Nonce is not { } nonce
                || Intent(withdrawal, nonce, fees) is var intent && !await evidence.ProvesReplacementAsync(withdrawal, newest, intent, cancellationToken))
            {
                return;
            }

            var now = clock.GetUtcNow();
            var signed = hotWallet.Sign(intent);
            Store(withdrawal, nonce, fees, signed, now);
            withdrawal.Replace(signed.RawHex, signed.Hash, now);
            db.Audit("withdrawal.transaction_replaced", withdrawal.AuditSubject, new
            {
                nonce,
                previous = latest.Hash,
                hash = signed.Hash,
                maxFeePerGas = fees.MaxFeePerGas.ToString(System.Globalization.CultureInfo.InvariantCulture),
                maxPriorityFeePerGas = fees.MaxPriorityFeePerGas.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, now);
        }, cancellationToken);
    }

    /// <summary>
    /// Sends the stored bytes (never re-signs to retry); "already known" counts as sent. The first broadcast
    /// records the time from the tap's approval (its challenge's end, read in the same query) to the node's answer.
    /// </summary>
    private async Task BroadcastAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var loaded = await db.Withdrawals.AsNoTracking().Where(w => w.Id == withdrawalId)
            .Select(w => new
            {
                Withdrawal = w,
                ApprovedAt = db.Challenges.Where(c => c.RequestId == w.Id && c.Outcome == "success").Select(c => c.EndedAt).FirstOrDefault(),
            })
            .SingleAsync(cancellationToken);
        var withdrawal = loaded.Withdrawal;
        if (withdrawal.RawTransaction is null || withdrawal.TxHash is null)
        {
            return;
        }

        var result = await chain.BroadcastAsync(withdrawal.RawTransaction, withdrawal.TxHash, cancellationToken);
        if (result.Outcome is BroadcastOutcome.Sent or BroadcastOutcome.AlreadyKnown)
        {
            var accepted = clock.GetUtcNow();
            crash.At("after-broadcast");
            await db.InTransactionAsync(async () =>
            {
                var current = await db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
                var now = clock.GetUtcNow();
                await db.WithdrawalTransactions.Where(t => t.Hash == current.TxHash)
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastBroadcastAt, now), cancellationToken);
                if (current.Status == RequestStatus.Signed)
                {
                    current.MarkBroadcast(now);
                    var (hash, nonce) = (current.TxHash, current.Nonce);
                    db.WhenCommitted(() =>
                    {
                        if (loaded.ApprovedAt is { } approvedAt)
                        {
                            ExchangeMetrics.TapToBroadcastObserved(accepted - approvedAt);
                        }

                        logger.LogInformation("Broadcast {Hash} at nonce {Nonce}", hash, nonce);
                    });
                }
            }, cancellationToken);
            return;
        }

        // Nonce too low: another of our transactions took the nonce (a replacement); the receipt watch finds which.
        logger.LogWarning("Broadcast of {WithdrawalId} ({Hash}) answered {Outcome}: {Message}",
            withdrawalId, withdrawal.TxHash, result.Outcome, result.NodeMessage);
    }

    private Task<List<string>> HashesAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        db.WithdrawalTransactions.AsNoTracking()
            .Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).Select(t => t.Hash)
            .ToListAsync(cancellationToken);

    /// <summary>Watches every hash the withdrawal ever had until one is mined deep enough.</summary>
    private async Task WatchAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var hashes = await HashesAsync(withdrawalId, cancellationToken);
        var replaceAfter = options.Value.ReplaceAfterSeconds;
        var until = clock.GetUtcNow() + (replaceAfter > 0 && replaceAfter < ReceiptWatch.TotalSeconds ? TimeSpan.FromSeconds(replaceAfter) : ReceiptWatch);
        while (clock.GetUtcNow() < until)
        {
            if (await CheckReceiptsAsync(withdrawalId, hashes, cancellationToken))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), clock, cancellationToken);
        }

        // Not mined yet: look again soon; the reconciler also re-broadcasts what stays unmined.
        jobs.SignAndBroadcastLater(withdrawalId, TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// One look at the receipts of every hash: settles the withdrawal when one is deep enough (true),
    /// records the confirmations so far, or notices that its block left the chain and sends it again.
    /// </summary>
    private async Task<bool> CheckReceiptsAsync(Guid withdrawalId, List<string> hashes, CancellationToken cancellationToken)
    {
        var required = Math.Max(1, options.Value.Confirmations);
        var anyMined = false;
        foreach (var hash in hashes)
        {
            var receipt = await chain.GetReceiptAsync(hash, cancellationToken);
            if (receipt is null)
            {
                continue;
            }

            anyMined = true;

            // A revert settles at the same depth as a success: until then a reorganisation may drop it or mine it again.
            if (receipt.Confirmations >= required)
            {
                await SettleAsync(withdrawalId, receipt, cancellationToken);
                return true;
            }

            // Mined, not yet deep enough: the trader sees the count grow.
            await db.InTransactionAsync(async () =>
            {
                var withdrawal = await db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
                if (withdrawal.Status == RequestStatus.Broadcast && withdrawal.Confirmations != (int)receipt.Confirmations)
                {
                    withdrawal.ObserveConfirmations(receipt.BlockNumber, (int)receipt.Confirmations);
                }
            }, cancellationToken);
        }

        if (!anyMined && await ForgetReorganisedBlockAsync(withdrawalId, cancellationToken))
        {
            // Its block left the chain before the confirmation depth: send the same bytes again.
            await BroadcastAsync(withdrawalId, cancellationToken);
        }

        return false;
    }

    /// <summary>A block we saw the transaction in is gone (a reorganisation): back to waiting, audited. True if so.</summary>
    private Task<bool> ForgetReorganisedBlockAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
            if (withdrawal.Status != RequestStatus.Broadcast || withdrawal.BlockNumber is not { } block)
            {
                return false;
            }

            withdrawal.ForgetBlock();
            db.Audit("withdrawal.reorged", withdrawal.AuditSubject, new { blockNumber = block, hash = withdrawal.TxHash }, clock.GetUtcNow());
            db.WhenCommitted(() => ExchangeMetrics.ChainError("reorg"));
            logger.LogWarning("Withdrawal {WithdrawalId}: block {Block} left the chain before the confirmation depth; sending again", withdrawalId, block);
            return true;
        }, cancellationToken);

    private Task SettleAsync(Guid withdrawalId, ReceiptInfo receipt, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
            if (withdrawal.Status is not (RequestStatus.Signed or RequestStatus.Broadcast))
            {
                return;
            }

            var now = clock.GetUtcNow();
            if (receipt.Succeeded)
            {
                withdrawal.MarkConfirmed(receipt.Hash, receipt.BlockNumber, (int)receipt.Confirmations, now);
                await ledger.SettleWithdrawalAsync(withdrawal, cancellationToken);
                db.WhenCommitted(() => logger.LogInformation("Confirmed: {Hash} in block {Block}, {Confirmations} confirmations",
                    receipt.Hash, receipt.BlockNumber, receipt.Confirmations));
            }
            else
            {
                // No value left the hot wallet (only the gas): the held funds go back, and an operator must look.
                withdrawal.MarkReverted(receipt.Hash, receipt.BlockNumber, now);
                await ledger.ReleaseAsync(withdrawal, cancellationToken);
                db.Audit("withdrawal.reverted_on_chain", withdrawal.AuditSubject,
                    new { hash = receipt.Hash, blockNumber = receipt.BlockNumber, to = withdrawal.ToAddress, needsOperator = true }, now);
                db.WhenCommitted(() => ExchangeMetrics.ChainError("reverted"));
                logger.LogError("Withdrawal {WithdrawalId}: transaction {Hash} was mined in block {Block} but reverted; funds released to the member; an operator should look at {To}",
                    withdrawalId, receipt.Hash, receipt.BlockNumber, withdrawal.ToAddress);
            }
        }, cancellationToken);
}
