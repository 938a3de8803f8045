using Hangfire;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>Enqueues the exchange's background jobs on Hangfire. Every job is safe to run twice.</summary>
public sealed class JobScheduler(IBackgroundJobClient jobs)
{
    public void SendChallenge(Guid challengeId) =>
        jobs.Enqueue<SendChallengeJob>(j => j.RunAsync(challengeId, CancellationToken.None));

    public void SendChallengeLater(Guid challengeId, TimeSpan delay) =>
        jobs.Schedule<SendChallengeJob>(j => j.RunAsync(challengeId, CancellationToken.None), delay);

    public void SignAndBroadcast(Guid withdrawalId) =>
        jobs.Enqueue<WithdrawalJob>(j => j.RunAsync(withdrawalId, CancellationToken.None));

    public void SignAndBroadcastLater(Guid withdrawalId, TimeSpan delay) =>
        jobs.Schedule<WithdrawalJob>(j => j.RunAsync(withdrawalId, CancellationToken.None), delay);
}
