namespace VivoKey.Simulator.Validation;

/// <summary>
/// For demos and the benchmark: the member taps every new challenge as soon as its POST has been
/// answered, so a load run needs no one at the phone. Off unless Simulator:AutoTapChallenges or the
/// control PUT /simulator/auto-tap turns it on.
/// </summary>
public sealed class ChallengeAutoTap(SimulatorOptions options, IServiceScopeFactory scopes, ILogger<ChallengeAutoTap> logger)
{
    private volatile bool _enabled = options.AutoTapChallenges;

    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>Taps the challenge once the response that accepted it has gone out.</summary>
    public void AfterResponse(HttpResponse response, string vivoId)
    {
        if (!_enabled)
        {
            return;
        }

        response.OnCompleted(() =>
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<MemberActions>().ActAsync(vivoId, MemberAction.Tap, CancellationToken.None);
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Auto-tap of {VivoId} failed", vivoId);
                }
            });
            return Task.CompletedTask;
        });
    }
}
