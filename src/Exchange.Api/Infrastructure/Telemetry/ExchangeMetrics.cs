using System.Diagnostics.Metrics;
using Exchange.Domain.Common;

namespace Exchange.Api.Infrastructure.Telemetry;

/// <summary>
/// The exchange's own metrics (meter "Exchange"), scraped beside ASP.NET Core's at /metrics. Each instance
/// counts what happened in it; Prometheus sums the instances. What is a state change is counted once its
/// transaction commits (<see cref="Persistence.ExchangeDbContext.WhenCommitted"/>): a rolled back or retried
/// transaction counts nothing, and a job that runs twice (Hangfire's at-least-once) makes the change, and the
/// count, once. The instruments are static: with no listener a recording costs a few nanoseconds, with one no
/// allocation and no database round trip.
/// </summary>
public static class ExchangeMetrics
{
    public const string MeterName = "Exchange";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Withdrawals and transfers accepted (202): funds held, challenge issued, committed. Idempotent replays are not counted.</summary>
    public static readonly Counter<long> RequestsAccepted = Meter.CreateCounter<long>(
        "exchange.requests.accepted", "{request}", "Withdrawals and transfers accepted: funds held and a challenge issued (label kind).");

    /// <summary>Challenges that reached their end, by the outcome stored on the challenge.</summary>
    public static readonly Counter<long> ChallengesEnded = Meter.CreateCounter<long>(
        "exchange.challenges.ended", "{challenge}",
        "Challenges ended, by kind (withdrawal, transfer, operator_action) and outcome (success, declined, expired, token_expired, rejected, failed, cancelled).");

    /// <summary>
    /// From the approval (the time the callback's transaction stamped on it, just before its commit) to the node
    /// accepting eth_sendRawTransaction, once per withdrawal, at its first broadcast. When the callback and the
    /// broadcast ran on different machines, their clocks' offset is in it too.
    /// </summary>
    public static readonly Histogram<double> TapToBroadcast = Meter.CreateHistogram(
        "exchange.tap_to_broadcast.duration", "s",
        "From the tap's approval being committed to the node accepting the signed transaction, per withdrawal.",
        tags: null,
        // The default buckets are for milliseconds; these cover a quiet exchange (tens of ms) to a saturated one (tens of s).
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });

    /// <summary>Withdrawals mined deep enough: the held funds left the ledger.</summary>
    public static readonly Counter<long> WithdrawalsConfirmed = Meter.CreateCounter<long>(
        "exchange.withdrawals.confirmed", "{withdrawal}", "Withdrawals confirmed on chain (enough confirmations), funds settled.");

    /// <summary>Withdrawals that ended in status failed, by the status they failed from.</summary>
    public static readonly Counter<long> WithdrawalsFailed = Meter.CreateCounter<long>(
        "exchange.withdrawals.failed", "{withdrawal}",
        "Withdrawals that ended failed (label from_status: pending_approval = VivoKey unreachable until the deadline; signed/broadcast = mined but reverted).");

    /// <summary>
    /// Withdrawals the signer refused because the evidence behind their approval did not match (status tampered):
    /// someone wrote the database behind the application's back. Alert on any increase.
    /// </summary>
    public static readonly Counter<long> WithdrawalsTampered = Meter.CreateCounter<long>(
        "exchange.withdrawals.tampered", "{withdrawal}",
        "Withdrawals refused before signing because the tap, the challenge message or the hold did not match the row (status tampered). Any increase needs an operator.");

    /// <summary>Transfers settled inside the ledger (confirmed).</summary>
    public static readonly Counter<long> TransfersSettled = Meter.CreateCounter<long>(
        "exchange.transfers.settled", "{transfer}", "Transfers settled in the ledger after the tap.");

    /// <summary>Reconciler passes: completed, skipped (another instance held the pass lock) or failed (threw; Hangfire retries).</summary>
    public static readonly Counter<long> ReconcilerPasses = Meter.CreateCounter<long>(
        "exchange.reconciler.passes", "{pass}", "Reconciler passes, by result (completed, skipped, failed).");

    /// <summary>Challenges the reconciler ended past their deadline and grace: expired (VivoKey had accepted it, no callback came) or failed (never accepted).</summary>
    public static readonly Counter<long> ReconcilerChallengesEnded = Meter.CreateCounter<long>(
        "exchange.reconciler.challenges_ended", "{challenge}", "Overdue challenges the reconciler ended, by outcome (expired, failed).");

    /// <summary>Work the reconciler found sitting and enqueued again: challenge sends, signings, chain checks.</summary>
    public static readonly Counter<long> ReconcilerRequeued = Meter.CreateCounter<long>(
        "exchange.reconciler.requeued", "{item}", "Items the reconciler enqueued again, by work (send_challenge, sign, chain).");

    /// <summary>Trouble with the chain, by kind: rpc (a call failed: unreachable, timed out, an error answer; label method), broadcast_rejected, insufficient_funds, nonce_taken, reverted, reorg.</summary>
    public static readonly Counter<long> ChainErrors = Meter.CreateCounter<long>(
        "exchange.chain.errors", "{error}",
        "Chain errors by kind: rpc (label method), broadcast_rejected (per refused attempt), insufficient_funds (per attempt the hot wallet could not pay for), nonce_taken (a transaction we did not send used a withdrawal's nonce), reverted (mined but failed), reorg (a block we saw the transaction in left the chain).");

    public static void RequestAccepted(RequestKind kind) => RequestsAccepted.Add(1, new KeyValuePair<string, object?>("kind", kind.ToWire()));

    public static void ChallengeEnded(RequestKind kind, string outcome) =>
        ChallengesEnded.Add(1, new KeyValuePair<string, object?>("kind", kind.ToWire()), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A committed status change of a withdrawal or transfer.</summary>
    public static void RequestMoved(RequestKind kind, RequestStatus from, RequestStatus to)
    {
        switch (kind, to)
        {
            case (RequestKind.Withdrawal, RequestStatus.Confirmed):
                WithdrawalsConfirmed.Add(1);
                break;
            case (RequestKind.Withdrawal, RequestStatus.Failed):
                WithdrawalsFailed.Add(1, new KeyValuePair<string, object?>("from_status", from.ToWire()));
                break;
            case (RequestKind.Withdrawal, RequestStatus.Tampered):
                WithdrawalsTampered.Add(1);
                break;
            case (RequestKind.Transfer, RequestStatus.Confirmed):
                TransfersSettled.Add(1);
                break;
        }
    }

    public static void TapToBroadcastObserved(TimeSpan elapsed) => TapToBroadcast.Record(Math.Max(0, elapsed.TotalSeconds));

    public static void ReconcilerPass(string result) => ReconcilerPasses.Add(1, new KeyValuePair<string, object?>("result", result));

    public static void ReconcilerEnded(string outcome, int count)
    {
        if (count > 0)
        {
            ReconcilerChallengesEnded.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public static void ReconcilerRequeue(string work, int count)
    {
        if (count > 0)
        {
            ReconcilerRequeued.Add(count, new KeyValuePair<string, object?>("work", work));
        }
    }

    public static void ChainError(string kind) => ChainErrors.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public static void RpcFailed(string method) =>
        ChainErrors.Add(1, new KeyValuePair<string, object?>("kind", "rpc"), new KeyValuePair<string, object?>("method", method));
}
