namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>How the exchange reaches VivoKey Connect (or the simulator), bound from "VivoKey".</summary>
public sealed class VivoKeyOptions
{
    public const string Section = "VivoKey";

    /// <summary>The OIDC issuer; discovery is at Authority + "/.well-known/openid-configuration".</summary>
    public string Authority { get; set; } = "http://127.0.0.1:5090/openid";

    public string ClientId { get; set; } = "exchange-dev";

    /// <summary>Development value of the simulator's demo client; configure the real one from a secret store.</summary>
    public string ClientSecret { get; set; } = "dev-only-exchange-secret";

    /// <summary>The Validation API endpoint (the reference's /v1.0/validate/).</summary>
    public string ValidationEndpoint { get; set; } = "http://127.0.0.1:5090/v1.0/validate/";

    /// <summary>Our callback URL as registered with VivoKey; it must be reachable by VivoKey.</summary>
    public string CallbackUrl { get; set; } = "http://127.0.0.1:5080/vivokey/callback";

    /// <summary>How long the member has to tap, in seconds (VivoKey allows 30 to 86400).</summary>
    public int ChallengeTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Key material for challenge ids: their MAC and the sealing of ids awaiting a send. At least 32
    /// bytes, base64. The default is a development key: production must configure its own.
    /// </summary>
    public string ChallengeKey { get; set; } = "ZGV2ZWxvcG1lbnQtb25seS1jaGFsbGVuZ2Uta2V5LW5vdC1mb3ItcHJvZHVjdGlvbg==";

    /// <summary>Seconds a single Validation API POST may take before it is retried.</summary>
    public int RequestTimeoutSeconds { get; set; } = 10;
}
