namespace Exchange.Api.Infrastructure;

/// <summary>
/// The configuration is not one this process may run with. Thrown while the host is built, before it
/// touches PostgreSQL, the chain or VivoKey; the message lists every reason, one per line, each naming the
/// setting and what to do, so an operator fixes them all in one go. Program prints the message alone (no
/// stack trace: the reasons are the operator's to act on, not a bug) and exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class StartupRefusedException(string heading, IReadOnlyList<string> reasons)
    : Exception(reasons.Count == 0 ? heading : heading + Environment.NewLine + string.Join(Environment.NewLine, reasons.Select(r => "  - " + r)))
{
    /// <summary>EX_CONFIG from sysexits.h: "something was found in an unconfigured or misconfigured state".</summary>
    public const int ExitCode = 78;

    /// <summary>A single reason that says it all, with no heading.</summary>
    public StartupRefusedException(string reason)
        : this(reason, [])
    {
    }

    /// <summary>Refuses with the reason, if there is one.</summary>
    public static void ThrowIf(string? reason)
    {
        if (reason is not null)
        {
            throw new StartupRefusedException(reason);
        }
    }

    /// <summary>Each reason on its own, as the message lists them (a single reason's message is the reason).</summary>
    public IReadOnlyList<string> Reasons { get; } = reasons.Count == 0 ? [heading] : reasons;
}
