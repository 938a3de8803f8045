using Hangfire;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>
/// When a step of a request's life runs: now, on the dispatcher (a person is waiting), or as a Hangfire job
/// (retries, work taken up again). The steps themselves are use cases in Features/; every one is safe to run twice.
/// </summary>
public sealed class JobScheduler(IBackgroundJobClient jobs, WorkDispatcher dispatcher)
{
    /// <summary>Challenge sends, served by a worker pool of their own.</summary>
    public const string ChallengesQueue = "challenges";

    /// <summary>Signing, broadcasting and receipt watching.</summary>
    public const string ChainQueue = "chain";

    /// <summary>A new challenge: sent the moment its request commits, with no queue in between.</summary>
    public void SendChallengeNow(Guid challengeId) => dispatcher.Dispatch(new WorkItem(WorkKind.SendChallenge, challengeId));

    /// <summary>A tapped withdrawal: signed and broadcast the moment the callback commits.</summary>
    public void SignAndBroadcastNow(Guid withdrawalId) => dispatcher.Dispatch(new WorkItem(WorkKind.SignAndBroadcast, withdrawalId));

    public void SendChallenge(Guid challengeId) => Enqueue(WorkKind.SendChallenge, challengeId);

    public void SendChallengeLater(Guid challengeId, TimeSpan delay) => Schedule(WorkKind.SendChallenge, challengeId, delay);

    /// <summary>The withdrawal's whole way from where it stands: sign if approved, replace if stuck, broadcast, watch.</summary>
    public void DriveWithdrawal(Guid withdrawalId) => Enqueue(WorkKind.DriveWithdrawal, withdrawalId);

    public void DriveWithdrawalLater(Guid withdrawalId, TimeSpan delay) => Schedule(WorkKind.DriveWithdrawal, withdrawalId, delay);

    private static string QueueOf(WorkKind kind) => kind == WorkKind.SendChallenge ? ChallengesQueue : ChainQueue;

    private void Enqueue(WorkKind kind, Guid id) =>
        jobs.Enqueue<WorkRunner>(QueueOf(kind), r => r.RunAsync(kind, id, CancellationToken.None));

    private void Schedule(WorkKind kind, Guid id, TimeSpan delay) =>
        jobs.Schedule<WorkRunner>(QueueOf(kind), r => r.RunAsync(kind, id, CancellationToken.None), delay);
}
