using Hangfire;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>Enqueues the exchange's background jobs on Hangfire. Every job is safe to run twice.</summary>
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

    public void SendChallenge(Guid challengeId) =>
        jobs.Enqueue<SendChallengeJob>(ChallengesQueue, j => j.RunAsync(challengeId, CancellationToken.None));

    public void SendChallengeLater(Guid challengeId, TimeSpan delay) =>
        jobs.Schedule<SendChallengeJob>(ChallengesQueue, j => j.RunAsync(challengeId, CancellationToken.None), delay);

    public void SignAndBroadcast(Guid withdrawalId) =>
        jobs.Enqueue<WithdrawalJob>(ChainQueue, j => j.RunAsync(withdrawalId, CancellationToken.None));

    public void SignAndBroadcastLater(Guid withdrawalId, TimeSpan delay) =>
        jobs.Schedule<WithdrawalJob>(ChainQueue, j => j.RunAsync(withdrawalId, CancellationToken.None), delay);
}
