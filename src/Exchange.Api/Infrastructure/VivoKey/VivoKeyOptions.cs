namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>How the exchange reaches VivoKey Connect (or the simulator), bound from "VivoKey".</summary>
public sealed class VivoKeyOptions
{
    public const string Section = "VivoKey";

    // The simulator's development values, the defaults below; ProductionGuard refuses each of them.
    public const string SimulatorAuthority = "http://127.0.0.1:5090/openid";
    public const string SimulatorValidationEndpoint = "http://127.0.0.1:5090/v1.0/validate/";
    public const string DevelopmentClientId = "exchange-dev";
    public const string DevelopmentClientSecret = "dev-only-exchange-secret";
    public const string DevelopmentChallengeKey = "ZGV2ZWxvcG1lbnQtb25seS1jaGFsbGVuZ2Uta2V5LW5vdC1mb3ItcHJvZHVjdGlvbg==";

    /// <summary>The OIDC issuer; discovery is at Authority + "/.well-known/openid-configuration".</summary>
    public string Authority { get; set; } = SimulatorAuthority;

    public string ClientId { get; set; } = DevelopmentClientId;

    /// <summary>Development value of the simulator's demo client; configure the real one from a secret store.</summary>
    public string ClientSecret { get; set; } = DevelopmentClientSecret;

    /// <summary>The Validation API endpoint (the reference's /v1.0/validate/).</summary>
    public string ValidationEndpoint { get; set; } = SimulatorValidationEndpoint;

    /// <summary>Our callback URL as registered with VivoKey; it must be reachable by VivoKey.</summary>
    public string CallbackUrl { get; set; } = "http://127.0.0.1:5080/vivokey/callback";

    /// <summary>How long the member has to tap, in seconds (VivoKey allows 30 to 86400).</summary>
    public int ChallengeTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Key material for challenge ids: their MAC and the sealing of ids awaiting a send. At least 32
    /// bytes, base64. The default is a development key: production must configure its own.
    /// </summary>
    public string ChallengeKey { get; set; } = DevelopmentChallengeKey;

    public const string Rs256 = "RS256";
    public const string Hs256 = "HS256";

    /// <summary>
    /// How VivoKey signs ID tokens, exactly one accepted at a time: RS256 (the default) with the keys of its JWKS, or
    /// HS256 keyed with <see cref="ClientSecret"/> alone, as django-oidc-provider does per client. Never "none".
    /// </summary>
    public string IdTokenAlgorithm { get; set; } = Rs256;

    /// <summary>Seconds a single Validation API POST may take before it is retried.</summary>
    public int RequestTimeoutSeconds { get; set; } = 10;
}
