using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>What the exchange reads of VivoKey's OpenID discovery document.</summary>
public sealed record DiscoveryDocument(
    string? TokenEndpoint,
    string? AuthorizationEndpoint,
    string? JwksUri,
    IReadOnlyList<string>? ScopesSupported,
    IReadOnlyList<string>? TokenEndpointAuthMethods,
    IReadOnlyList<string>? IdTokenSigningAlgorithms)
{
    /// <summary>The scopes sign-in asks for (SignIn.Configure).</summary>
    public static readonly string[] OurScopes = ["openid", "profile", "email", "Validate"];

    /// <summary>How the exchange authenticates at the token endpoint, for the code and for refreshes: the secret in the form.</summary>
    public const string OurTokenEndpointAuthMethod = "client_secret_post";

    public static DiscoveryDocument Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The discovery document is not a JSON object.");
        }

        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        IReadOnlyList<string>? List(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : null;
        return new(Text("token_endpoint"), Text("authorization_endpoint"), Text("jwks_uri"),
            List("scopes_supported"), List("token_endpoint_auth_methods_supported"), List("id_token_signing_alg_values_supported"));
    }

    /// <summary>The ID token algorithm is listed: an exchange that would refuse every ID token must not start.</summary>
    public string? AlgorithmProblem(string algorithm, string url) =>
        IdTokenSigningAlgorithms is { } listed && listed.Contains(algorithm, StringComparer.Ordinal)
            ? null
            : $"VivoKey:IdTokenAlgorithm is {algorithm}, but VivoKey's discovery document ({url}) lists id_token_signing_alg_values_supported " +
              $"[{string.Join(", ", IdTokenSigningAlgorithms ?? [])}]: set VivoKey:IdTokenAlgorithm to the one VivoKey signs with (RS256 or HS256).";

    /// <summary>Everything the exchange needs that the document lacks, each naming what to do.</summary>
    public IReadOnlyList<string> Problems(string algorithm, string url)
    {
        var problems = new List<string>();
        if (TokenEndpoint is null)
        {
            problems.Add($"VivoKey's discovery document ({url}) names no token_endpoint: sign-in and token refreshes need it.");
        }

        if (AuthorizationEndpoint is null)
        {
            problems.Add($"VivoKey's discovery document ({url}) names no authorization_endpoint: sign-in needs it.");
        }

        if (algorithm == VivoKeyOptions.Rs256 && JwksUri is null)
        {
            problems.Add($"VivoKey's discovery document ({url}) names no jwks_uri: RS256 ID tokens cannot be verified without it.");
        }

        // scopes_supported is only RECOMMENDED by OpenID Connect Discovery: absent, it claims nothing either way.
        foreach (var scope in OurScopes.Where(s => ScopesSupported is { } listed && !listed.Contains(s, StringComparer.Ordinal)))
        {
            problems.Add($"VivoKey's discovery document ({url}) does not list the scope {scope} in scopes_supported, which sign-in asks for.");
        }

        // Absent, OpenID Connect Discovery's default is client_secret_basic alone.
        if (!(TokenEndpointAuthMethods ?? ["client_secret_basic"]).Contains(OurTokenEndpointAuthMethod, StringComparer.Ordinal))
        {
            problems.Add($"VivoKey's discovery document ({url}) lists token_endpoint_auth_methods_supported [{string.Join(", ", TokenEndpointAuthMethods ?? ["client_secret_basic (by default)"])}], " +
                $"without {OurTokenEndpointAuthMethod}, the method the exchange authenticates with.");
        }

        if (AlgorithmProblem(algorithm, url) is { } problem)
        {
            problems.Add(problem);
        }

        return problems;
    }
}

/// <summary>VivoKey's discovery document: checked at start-up, and its token endpoint read once for refreshes.</summary>
public sealed class VivoKeyDiscovery(IHttpClientFactory http, IOptions<VivoKeyOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _tokenEndpoint;

    public string Url => options.Value.Authority.TrimEnd('/') + "/.well-known/openid-configuration";

    /// <summary>Reads the document; its token endpoint is kept, so the start-up check's read also serves the first refresh.</summary>
    public async Task<DiscoveryDocument> ReadAsync(CancellationToken cancellationToken)
    {
        var client = http.CreateClient(VivoKeyHttp.ClientName);
        var document = DiscoveryDocument.Parse(await client.GetStringAsync(Url, cancellationToken));
        _tokenEndpoint ??= document.TokenEndpoint;
        return document;
    }

    public async Task<string> TokenEndpointAsync(CancellationToken cancellationToken)
    {
        if (_tokenEndpoint is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            _tokenEndpoint ??= (await ReadAsync(cancellationToken)).TokenEndpoint
                ?? throw new InvalidOperationException("VivoKey's discovery document names no token endpoint.");
            return _tokenEndpoint;
        }
        finally
        {
            _gate.Release();
        }
    }
}

public static class VivoKeyHttp
{
    public const string ClientName = "vivokey";
}
