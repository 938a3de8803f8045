using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Exchange.Api.Features.Account;
using Exchange.Api.Infrastructure.VivoKey;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>
/// The ID token rules SignIn.Configure sets, applied to tokens made here (pure logic): exactly one algorithm, HS256
/// keyed with the client secret alone, RS256 with the JWKS keys alone, never "none", no algorithm confusion.
/// </summary>
public sealed class IdTokenValidationTests
{
    private const string Issuer = "https://vivokey.example/openid";
    private const string Secret = "a-client-secret-of-more-than-thirty-two-bytes";
    private static readonly RsaSecurityKey Jwks = new(RSA.Create(2048)) { KeyId = "jwks-1" };

    [Fact]
    public async Task HS256_accepts_a_token_keyed_with_the_client_secret()
    {
        Assert.True((await ValidateAsync("HS256", Hs256(Encoding.UTF8.GetBytes(Secret)))).IsValid);
    }

    [Fact]
    public async Task HS256_refuses_a_token_keyed_with_the_JWKS_public_key_the_classic_algorithm_confusion()
    {
        var publicKeyBytes = Jwks.Rsa.ExportSubjectPublicKeyInfo();
        Assert.False((await ValidateAsync("HS256", Hs256(publicKeyBytes))).IsValid);
        Assert.False((await ValidateAsync("HS256", Hs256(Encoding.UTF8.GetBytes(Jwks.Rsa.ExportSubjectPublicKeyInfoPem())))).IsValid);
    }

    [Fact]
    public async Task HS256_refuses_an_RS256_token_even_from_the_JWKS_key()
    {
        Assert.False((await ValidateAsync("HS256", Rs256())).IsValid);
    }

    [Fact]
    public async Task RS256_accepts_the_JWKS_key_and_refuses_HS256_keyed_with_the_client_secret()
    {
        Assert.True((await ValidateAsync("RS256", Rs256())).IsValid);
        Assert.False((await ValidateAsync("RS256", Hs256(Encoding.UTF8.GetBytes(Secret)))).IsValid);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("RS256")]
    public async Task An_unsigned_token_is_refused(string algorithm)
    {
        var unsigned = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor { Issuer = Issuer, Audience = "exchange", Subject = Member(), Expires = DateTime.UtcNow.AddMinutes(5) });
        Assert.EndsWith(".", unsigned, StringComparison.Ordinal);
        Assert.False((await ValidateAsync(algorithm, unsigned)).IsValid);
    }

    private static async Task<TokenValidationResult> ValidateAsync(string algorithm, string token)
    {
        var oidc = new OpenIdConnectOptions();
        SignIn.Configure(oidc, new VivoKeyOptions { IdTokenAlgorithm = algorithm, ClientSecret = Secret, ClientId = "exchange" });
        // As the handler does: the JWKS keys from the discovery document join the parameters.
        var parameters = oidc.TokenValidationParameters.Clone();
        parameters.ValidIssuer = Issuer;
        parameters.ValidAudience = "exchange";
        parameters.IssuerSigningKeys = [Jwks];
        return await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters);
    }

    private static string Hs256(byte[] key) => Sign(new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256));

    private static string Rs256() => Sign(new SigningCredentials(Jwks, SecurityAlgorithms.RsaSha256));

    private static string Sign(SigningCredentials credentials) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = "exchange",
        Subject = Member(),
        Expires = DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = credentials,
    });

    private static ClaimsIdentity Member() => new([new Claim(JwtRegisteredClaimNames.Sub, "vk-member")]);
}

/// <summary>What start-up names when VivoKey's discovery document lacks what the exchange needs (pure logic).</summary>
public sealed class DiscoveryDocumentTests
{
    private const string Url = "https://vivokey.example/openid/.well-known/openid-configuration";

    private const string Complete = """
        { "issuer": "https://vivokey.example/openid", "authorization_endpoint": "https://vivokey.example/openid/authorize/",
          "token_endpoint": "https://vivokey.example/openid/token/", "jwks_uri": "https://vivokey.example/openid/jwks/",
          "scopes_supported": ["openid", "profile", "email", "Validate"],
          "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
          "id_token_signing_alg_values_supported": ["HS256", "RS256"] }
        """;

    [Fact]
    public void A_complete_document_has_no_problems_for_either_algorithm()
    {
        Assert.Empty(DiscoveryDocument.Parse(Complete).Problems("RS256", Url));
        Assert.Empty(DiscoveryDocument.Parse(Complete).Problems("HS256", Url));
    }

    [Fact]
    public void Each_missing_need_is_named()
    {
        var lacking = DiscoveryDocument.Parse("""
            { "authorization_endpoint": "https://vivokey.example/openid/authorize/", "jwks_uri": "https://vivokey.example/openid/jwks/",
              "scopes_supported": ["openid", "profile"], "id_token_signing_alg_values_supported": ["RS256"] }
            """).Problems("HS256", Url);
        Assert.Contains(lacking, p => p.Contains("no token_endpoint", StringComparison.Ordinal));
        Assert.Contains(lacking, p => p.Contains("scope email", StringComparison.Ordinal));
        Assert.Contains(lacking, p => p.Contains("scope Validate", StringComparison.Ordinal));
        // Absent, the auth methods default to client_secret_basic alone.
        Assert.Contains(lacking, p => p.Contains("without client_secret_post", StringComparison.Ordinal));
        Assert.Contains(lacking, p => p.Contains("VivoKey:IdTokenAlgorithm is HS256", StringComparison.Ordinal));
        Assert.Equal(5, lacking.Count);
    }

    [Fact]
    public void Scopes_left_unstated_claim_nothing_either_way()
    {
        var document = DiscoveryDocument.Parse(Complete.Replace("\"scopes_supported\": [\"openid\", \"profile\", \"email\", \"Validate\"],", "", StringComparison.Ordinal));
        Assert.Null(document.ScopesSupported);
        Assert.Empty(document.Problems("RS256", Url));
    }
}
