namespace VivoKey.Simulator.Tests.Support;

/// <summary>
/// A simulator started with every behaviour switch set away from its default, by settings alone:
/// what a relying party's test run gets from configuration, without calling the controls.
/// </summary>
public sealed class SwitchedSimulatorFixture : SimulatorFixture
{
    protected override IReadOnlyDictionary<string, string?> MoreSettings { get; } = new Dictionary<string, string?>
    {
        ["Simulator:IssueRefreshTokens"] = "false",
        ["Simulator:RefreshRevokesPrevious"] = "true",
        ["Simulator:DeduplicateIds"] = "false",
        ["Simulator:IdTokenAlgorithm"] = "HS256",
        ["Simulator:Faults:TokenErrorsAsStatus"] = "true",
    };
}
