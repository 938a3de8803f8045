using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure;

/// <summary>
/// Test-only: kills this process with SIGKILL at a named step boundary, once, so crash-safety tests
/// reach each boundary deterministically rather than by luck. Configured by Exchange:CrashAt (the
/// point) and Exchange:CrashMarker (a file created at the kill, so the restarted process passes the
/// point). Refused outside Development and Testing. The points:
/// after-hold (a withdrawal's transaction committed, its send not yet enqueued),
/// after-challenge-post (VivoKey accepted the challenge, not yet recorded),
/// after-callback (the tap applied and committed, signing not yet enqueued, VivoKey not yet answered),
/// after-sign (signed bytes stored, not broadcast), after-broadcast (the node has the transaction,
/// not yet recorded), mid-reconcile (a reconciler pass has enqueued some of its work),
/// after-replacement-stored (a fee replacement committed, not yet sent), after-transfer-settled (a
/// transfer's settlement committed, VivoKey not yet answered), after-operator-action (an operator's
/// action carried out and committed, VivoKey not yet answered), mid-seal (a seal pass has linked its
/// batch of audit events, its head not yet recorded, its transaction not yet committed).
/// </summary>
public sealed class CrashPoints(IOptions<ExchangeOptions> options, ILogger<CrashPoints> logger)
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "after-hold", "after-challenge-post", "after-callback", "after-sign", "after-broadcast", "mid-reconcile",
        "after-replacement-stored", "after-transfer-settled", "after-operator-action", "mid-seal",
    };

    public void At(string point)
    {
        var settings = options.Value;
        if (settings.CrashAt != point || string.IsNullOrEmpty(settings.CrashMarker))
        {
            return;
        }

        try
        {
            // The marker says this point was passed once already: a restarted process goes on.
            using var marker = new FileStream(settings.CrashMarker, FileMode.CreateNew);
        }
        catch (IOException)
        {
            return;
        }

        // Written straight to stderr: the logger's queue would die unflushed with the process.
        logger.LogCritical("Crash point {Point}: killing the process with SIGKILL", point);
        Console.Error.WriteLine($"Crash point {point}: killing the process with SIGKILL");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
    }

    /// <summary>At start-up: a crash point is a test's tool, never production's.</summary>
    public static void Validate(ExchangeOptions options, IHostEnvironment environment)
    {
        if (string.IsNullOrEmpty(options.CrashAt))
        {
            return;
        }

        if (!environment.IsDevelopment() && !environment.IsEnvironment("Testing"))
        {
            throw new InvalidOperationException($"Exchange:CrashAt is a test hook; it is refused in the {environment.EnvironmentName} environment.");
        }

        if (!Names.Contains(options.CrashAt))
        {
            throw new InvalidOperationException($"Exchange:CrashAt '{options.CrashAt}' is not a crash point: {string.Join(", ", Names)}.");
        }
    }
}
