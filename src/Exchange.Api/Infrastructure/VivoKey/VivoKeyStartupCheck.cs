using System.Text;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>
/// At start-up, what VivoKey must offer for this exchange to work. The ID token algorithm is one setting, checked
/// while the host is built, everywhere (a wrong one would refuse every sign-in). VivoKey's discovery document is read
/// as the host starts, before anything else starts (the HTTP server included), by every instance that serves sign-in
/// or sends challenges: in Production each thing it lacks (our scopes, the token endpoint's auth method, the
/// algorithm) refuses the start, named; elsewhere, where the simulator may start after the exchange, only an
/// algorithm the document does not list refuses it, and the rest is a warning.
/// </summary>
public sealed class VivoKeyStartupCheck(
    IHostEnvironment environment,
    IOptions<VivoKeyOptions> options,
    IOptions<ExchangeOptions> exchange,
    VivoKeyDiscovery discovery,
    ILogger<VivoKeyStartupCheck> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) =>
        RunAsync(environment, options.Value, discovery, logger, cancellationToken, servesSignIn: exchange.Value.ServeApi);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// With <paramref name="servesSignIn"/> false (a worker), a document that cannot be read is a warning even in
    /// Production: a VivoKey outage must not stop the instances that sign, broadcast and release funds from restarting.
    /// </summary>
    public static async Task RunAsync(
        IHostEnvironment environment, VivoKeyOptions options, VivoKeyDiscovery discovery, ILogger logger, CancellationToken cancellationToken, bool servesSignIn = true)
    {
        StartupRefusedException.ThrowIf(SettingProblem(options));
        var strict = ProductionGuard.Applies(environment);
        DiscoveryDocument document;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(Math.Max(5, options.RequestTimeoutSeconds)));
            document = await discovery.ReadAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = $"VivoKey's discovery document ({discovery.Url}) could not be read: {ex.Message}. Check VivoKey:Authority.";
            if (strict && servesSignIn)
            {
                throw new StartupRefusedException(reason);
            }

            logger.LogWarning("{Reason} Sign-in and challenges will fail until it can be.", reason);
            return;
        }

        var problems = document.Problems(options.IdTokenAlgorithm, discovery.Url);
        if (strict && problems.Count > 0)
        {
            throw new StartupRefusedException("VivoKey Connect does not offer what this exchange needs:", problems);
        }

        StartupRefusedException.ThrowIf(document.AlgorithmProblem(options.IdTokenAlgorithm, discovery.Url));
        foreach (var problem in problems)
        {
            logger.LogWarning("{Problem}", problem);
        }
    }

    /// <summary>The algorithm is one we accept, and HS256's key, the client secret, is long enough for HMAC-SHA256.</summary>
    public static string? SettingProblem(VivoKeyOptions options)
    {
        if (options.IdTokenAlgorithm is not (VivoKeyOptions.Rs256 or VivoKeyOptions.Hs256))
        {
            return $"VivoKey:IdTokenAlgorithm is '{options.IdTokenAlgorithm}': set it to RS256 (VivoKey's JWKS keys) or HS256 (keyed with VivoKey:ClientSecret), the one VivoKey signs ID tokens with.";
        }

        return options.IdTokenAlgorithm == VivoKeyOptions.Hs256 && Encoding.UTF8.GetByteCount(options.ClientSecret) < 32
            ? "VivoKey:IdTokenAlgorithm is HS256, keyed with VivoKey:ClientSecret, which is shorter than the 32 bytes HMAC-SHA256 needs: use the full secret VivoKey issued."
            : null;
    }
}
