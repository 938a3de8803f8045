using Exchange.Api.Features.Challenges;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Jobs;

namespace Exchange.Api.Features.Requests;

/// <summary>The use cases that run in the background, under the kinds the triggers in Infrastructure/Jobs know them by.</summary>
public static class WorkSteps
{
    public static void Add(IServiceCollection services)
    {
        services.AddScoped<SendChallenge>();
        services.AddKeyedScoped<IWorkStep>(WorkKind.SendChallenge, (provider, _) => provider.GetRequiredService<SendChallenge>());
        services.AddScoped<ExpireDue>();
        services.AddScoped<Reconcile>();
        services.AddScoped<IReconciliation>(provider => provider.GetRequiredService<Reconcile>());

        services.AddScoped<SignApproved>();
        services.AddScoped<ISigningBatch>(provider => provider.GetRequiredService<SignApproved>());
        services.AddScoped<Broadcast>();
        services.AddScoped<ReplaceStuck>();
        services.AddScoped<ResignTakenNonce>();
        services.AddScoped<FollowReceipts>();
        services.AddScoped<SignAndBroadcast>();
        services.AddScoped<DriveWithdrawal>();
        services.AddScoped<NudgeWithdrawal>();
        services.AddKeyedScoped<IWorkStep>(WorkKind.SignAndBroadcast, (provider, _) => provider.GetRequiredService<SignAndBroadcast>());
        services.AddKeyedScoped<IWorkStep>(WorkKind.DriveWithdrawal, (provider, _) => provider.GetRequiredService<DriveWithdrawal>());
        services.AddKeyedScoped<IWorkStep>(WorkKind.FollowReceipts, (provider, _) => provider.GetRequiredService<FollowReceipts>());
        services.AddKeyedScoped<IWorkStep>(WorkKind.NudgeWithdrawal, (provider, _) => provider.GetRequiredService<NudgeWithdrawal>());
        services.AddScoped<WorkRunner>();
    }
}
