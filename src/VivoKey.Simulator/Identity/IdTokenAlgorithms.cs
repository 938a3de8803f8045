namespace VivoKey.Simulator.Identity;

/// <summary>
/// The ID token signatures the simulator can make: RS256 with its own key (published at the JWKS
/// endpoint), or HS256 keyed with the client's secret, which django-oidc-provider offers per client.
/// </summary>
public static class IdTokenAlgorithms
{
    public const string RS256 = "RS256";
    public const string HS256 = "HS256";

    /// <summary>The setting as given when it names a supported algorithm; otherwise start-up stops here.</summary>
    public static string Validate(string? setting) => setting switch
    {
        RS256 or HS256 => setting,
        _ => throw new InvalidOperationException(
            $"Simulator:IdTokenAlgorithm is \"{setting}\"; it must be \"{RS256}\" or \"{HS256}\" (exactly, upper case)."),
    };
}
