using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Audit;
using Exchange.Domain.Common;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// A step of an approved withdrawal's way onto the chain, as the triggers run it (<see cref="IWorkStep"/>).
/// One step per withdrawal at a time, across instances: the reconciler may take a withdrawal up again while
/// a step still watches its receipt, and a duplicate must cost a lookup, not a worker for the whole watch.
/// Each step starts from what the database says, so running one twice, or after a crash between any two of
/// its parts, signs nothing twice.
/// </summary>
public abstract class WithdrawalStep(ExchangeDbContext db, ILogger logger) : IWorkStep
{
    public async Task RunAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        // Every line a step logs names the withdrawal, whichever part logs it.
        using var scope = logger.BeginScope(LogFields.Withdrawal(withdrawalId));
        db.Actor = Actors.System;
        var key = BitConverter.ToInt32(withdrawalId.ToByteArray(), 12);
        await db.TryWithLockAsync(AdvisoryLock.WithdrawalInWork, key, () => RunLockedAsync(withdrawalId, cancellationToken), cancellationToken);
    }

    protected abstract Task RunLockedAsync(Guid withdrawalId, CancellationToken cancellationToken);
}

/// <summary>The fast path, the moment the tap is applied: sign and broadcast, then leave the receipt to the confirmation watcher.</summary>
public sealed class SignAndBroadcast(ExchangeDbContext db, SignApproved signer, Broadcast broadcast, ILogger<SignAndBroadcast> logger)
    : WithdrawalStep(db, logger)
{
    protected override async Task RunLockedAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        if (await signer.SignIfApprovedAsync(withdrawalId, cancellationToken) == RequestStatus.Signed)
        {
            await broadcast.RunAsync(withdrawalId, cancellationToken);
        }
    }
}

/// <summary>
/// The whole way from where the withdrawal stands, for retries and the reconciler: sign if approved, sign again if
/// another transaction took its nonce, replace if stuck, broadcast, watch.
/// </summary>
public sealed class DriveWithdrawal(
    ExchangeDbContext db, SignApproved signer, ResignTakenNonce resign, ReplaceStuck replace, Broadcast broadcast, FollowReceipts receipts, ILogger<DriveWithdrawal> logger)
    : WithdrawalStep(db, logger)
{
    protected override async Task RunLockedAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        if (await signer.SignIfApprovedAsync(withdrawalId, cancellationToken) is RequestStatus.Signed or RequestStatus.Broadcast)
        {
            await resign.RunAsync(withdrawalId, cancellationToken);
            await replace.RunAsync(withdrawalId, cancellationToken);
            await broadcast.RunAsync(withdrawalId, cancellationToken);
            await receipts.WatchAsync(withdrawalId, cancellationToken);
        }
    }
}

/// <summary>
/// For a transaction that has sat unmined (the confirmation watcher, every second): sign it again at a fresh nonce
/// if another transaction took its nonce past the confirmation depth, replace it once it is stuck long enough,
/// send the stored bytes again (a node that dropped them gets them back), look once.
/// </summary>
public sealed class NudgeWithdrawal(
    ExchangeDbContext db, SignApproved signer, ResignTakenNonce resign, ReplaceStuck replace, Broadcast broadcast, FollowReceipts receipts, ILogger<NudgeWithdrawal> logger)
    : WithdrawalStep(db, logger)
{
    protected override async Task RunLockedAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        if (await signer.StatusAsync(withdrawalId, cancellationToken) is not (RequestStatus.Signed or RequestStatus.Broadcast))
        {
            return;
        }

        await resign.RunAsync(withdrawalId, cancellationToken);
        await replace.RunAsync(withdrawalId, cancellationToken);
        await broadcast.RunAsync(withdrawalId, cancellationToken);
        await receipts.LookOnceAsync(withdrawalId, cancellationToken);
    }
}
