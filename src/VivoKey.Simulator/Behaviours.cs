using VivoKey.Simulator.Identity;

namespace VivoKey.Simulator;

/// <summary>
/// The live values of the behaviour switches (see <see cref="SimulatorOptions"/>): one place the
/// endpoints read, so a test can flip a switch at run time and the next request sees it.
/// The ID token algorithm is fixed at start-up: OpenIddict's handlers are chosen then.
/// </summary>
public sealed class Behaviours(SimulatorOptions options)
{
    private volatile bool _issueRefreshTokens = options.IssueRefreshTokens;
    private volatile bool _refreshRevokesPrevious = options.RefreshRevokesPrevious;
    private volatile bool _deduplicateIds = options.DeduplicateIds;

    /// <summary>Read when the member signs in: the grant includes offline_access only when true.</summary>
    public bool IssueRefreshTokens
    {
        get => _issueRefreshTokens;
        set => _issueRefreshTokens = value;
    }

    public bool RefreshRevokesPrevious
    {
        get => _refreshRevokesPrevious;
        set => _refreshRevokesPrevious = value;
    }

    public bool DeduplicateIds
    {
        get => _deduplicateIds;
        set => _deduplicateIds = value;
    }

    public string IdTokenAlgorithm { get; } = IdTokenAlgorithms.Validate(options.IdTokenAlgorithm);
}
