using Hangfire;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>Enqueues the exchange's background jobs on Hangfire. Every job is safe to run twice.</summary>
public sealed class JobScheduler(IBackgroundJobClient jobs)
{
    /// <summary>Challenge sends, served by a worker pool of their own.</summary>
    public const string ChallengesQueue = "challenges";

    /// <summary>Signing, broadcasting and receipt watching.</summary>
    public const string ChainQueue = "chain";

    public void SendChallenge(Guid challengeId) =>
        jobs.Enqueue<SendChallengeJob>(ChallengesQueue, j => j.RunAsync(challengeId, CancellationToken.None));

    public void SendChallengeLater(Guid challengeId, TimeSpan delay) =>
        jobs.Schedule<SendChallengeJob>(ChallengesQueue, j => j.RunAsync(challengeId, CancellationToken.None), delay);

    public void SignAndBroadcast(Guid withdrawalId) =>
        jobs.Enqueue<WithdrawalJob>(ChainQueue, j => j.RunAsync(withdrawalId, CancellationToken.None));

    public void SignAndBroadcastLater(Guid withdrawalId, TimeSpan delay) =>
        jobs.Schedule<WithdrawalJob>(ChainQueue, j => j.RunAsync(withdrawalId, CancellationToken.None), delay);
}
