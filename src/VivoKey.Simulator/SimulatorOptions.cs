using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Validation;

namespace VivoKey.Simulator;

/// <summary>The simulator's settings, bound from the "Simulator" configuration section.</summary>
public sealed class SimulatorOptions
{
    public const string Section = "Simulator";

    /// <summary>The address clients use to reach the simulator; the issuer is this plus "/openid".</summary>
    public string PublicUrl { get; set; } = "http://127.0.0.1:5090";

    /// <summary>Completes the tap and consent pages at once when login_hint names a known member.</summary>
    public bool AutoTap { get; set; }

    /// <summary>The member taps every validation challenge as soon as it is accepted (load runs, demos).</summary>
    public bool AutoTapChallenges { get; set; }

    public int AccessTokenLifetimeSeconds { get; set; } = 3600;
    public int IdentityTokenLifetimeSeconds { get; set; } = 1200;
    public int RefreshTokenLifetimeSeconds { get; set; } = 14 * 24 * 3600;

    /// <summary>How often, in real milliseconds, deadlines and late callbacks are checked.</summary>
    public int DeadlineScanMilliseconds { get; set; } = 200;

    /// <summary>How long one callback delivery may take before it counts as failed.</summary>
    public int CallbackTimeoutSeconds { get; set; } = 10;

    public List<ClientOptions> Clients { get; set; } = [];
    public List<MemberOptions> Members { get; set; } = [];

    // Where VivoKey's documentation is silent the simulator makes one guess (the defaults); each switch
    // below gives another behaviour a relying party must also cope with. The bools also change at run
    // time (PUT /simulator/behaviours, see Behaviours).

    /// <summary>False: the code grant's token response carries no refresh_token.</summary>
    public bool IssueRefreshTokens { get; set; } = true;

    /// <summary>True: a refresh grant revokes every earlier access and refresh token of the member for that client.</summary>
    public bool RefreshRevokesPrevious { get; set; }

    /// <summary>False: a second POST of an id the client already used opens a second challenge instead of a 409.</summary>
    public bool DeduplicateIds { get; set; } = true;

    /// <summary>"RS256" (the JWKS keys) or "HS256" (keyed with the client's secret, as django-oidc-provider can); start-up only.</summary>
    public string IdTokenAlgorithm { get; set; } = IdTokenAlgorithms.RS256;

    /// <summary>Faults applied to every challenge of this run unless a rule says otherwise.</summary>
    public FaultPlan? Faults { get; set; }

    public Uri Issuer => new(PublicUrl.TrimEnd('/') + "/openid");
}

public sealed class ClientOptions
{
    public string ClientId { get; set; } = "";
    public string ClientSecret { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public List<string> RedirectUris { get; set; } = [];
    public List<string> PostLogoutRedirectUris { get; set; } = [];

    /// <summary>The Validation API callback URLs this client registered; a challenge must name one.</summary>
    public List<string> CallbackUrls { get; set; } = [];
}

public sealed class MemberOptions
{
    public string Subject { get; set; } = "";
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
}
