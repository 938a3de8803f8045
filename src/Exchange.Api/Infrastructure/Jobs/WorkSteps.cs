using System.ComponentModel;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>The steps of a request's life that run in the background, by what they do.</summary>
public enum WorkKind
{
    /// <summary>Send a new challenge to VivoKey (Features/Challenges/SendChallenge).</summary>
    SendChallenge,

    /// <summary>The fast path after a tap: sign and broadcast, then hand the receipt to the confirmation watcher.</summary>
    SignAndBroadcast,

    /// <summary>The whole way, for retries and the reconciler: sign if approved, replace if stuck, broadcast, watch the receipt.</summary>
    DriveWithdrawal,

    /// <summary>One look at a broadcast withdrawal's receipts (the confirmation watcher, at each block).</summary>
    FollowReceipts,

    /// <summary>A transaction sat unmined: replace it if stuck, send it again, look at its receipts.</summary>
    NudgeWithdrawal,
}

/// <summary>One piece of work: its kind and the id of the challenge or withdrawal it is for.</summary>
public readonly record struct WorkItem(WorkKind Kind, Guid Id)
{
    public string ToPayload() => $"{(Kind == WorkKind.SendChallenge ? "send" : "sign")}:{Id}";

    public static bool TryParse(string payload, out WorkItem item)
    {
        item = default;
        var parts = payload.Split(':', 2);
        if (parts.Length != 2 || !Guid.TryParse(parts[1], out var id))
        {
            return false;
        }

        item = parts[0] switch
        {
            "send" => new WorkItem(WorkKind.SendChallenge, id),
            "sign" => new WorkItem(WorkKind.SignAndBroadcast, id),
            _ => default,
        };
        return item.Id != Guid.Empty;
    }
}

/// <summary>
/// A step of a request's life as the triggers here see it. The step itself is a use case in Features/,
/// registered under its <see cref="WorkKind"/> (a keyed service); Hangfire, the dispatcher and the
/// confirmation watcher only decide when it runs. Every step is safe to run twice, or at once.
/// </summary>
public interface IWorkStep
{
    Task RunAsync(Guid id, CancellationToken cancellationToken);
}

/// <summary>Signs many tapped withdrawals under one hold of the hot wallet's lock; returns those it signed.</summary>
public interface ISigningBatch
{
    Task<IReadOnlyList<Guid>> SignAsync(IReadOnlyCollection<Guid> withdrawalIds, CancellationToken cancellationToken);
}

/// <summary>One reconciler pass (Features/Requests/Reconcile): Hangfire runs it on its schedule.</summary>
public interface IReconciliation
{
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>What Hangfire runs: the step registered for the kind, in the job's own scope.</summary>
public sealed class WorkRunner(IServiceProvider services)
{
    [DisplayName("{0} {1}")]
    public Task RunAsync(WorkKind kind, Guid id, CancellationToken cancellationToken) =>
        services.GetRequiredKeyedService<IWorkStep>(kind).RunAsync(id, cancellationToken);
}
