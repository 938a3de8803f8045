using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace VivoKey.Simulator.Identity;

/// <summary>
/// HS256 mode: OpenIddict signs ID tokens with asymmetric keys only, so the token response's
/// id_token is signed again, over the very payload OpenIddict made, with HMAC-SHA256 keyed by the
/// UTF-8 bytes of the requesting client's secret, as django-oidc-provider does for HS256 clients.
/// </summary>
public sealed class HmacIdTokenSigner(ClientRegistry clients) : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseSingletonHandler<HmacIdTokenSigner>()
            // Before the ASP.NET Core host turns the response into JSON.
            .SetOrder(OpenIddictServerAspNetCoreHandlers.AttachHttpResponseCode<ApplyTokenResponseContext>.Descriptor.Order - 1_000)
            .Build();

    private static readonly string Header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);

    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        if (context.Response.IdToken is { } idToken)
        {
            // Basic and form client authentication both leave the client id on the request.
            var clientId = context.Request?.ClientId;
            var secret = clients.Find(clientId)?.ClientSecret
                ?? throw new InvalidOperationException($"No configured secret for client \"{clientId}\" to sign its ID token with.");
            context.Response.IdToken = Sign(idToken, secret);
        }

        return default;
    }

    /// <summary>The same payload under a new header and an HMAC-SHA256 signature.</summary>
    public static string Sign(string jwt, string secret)
    {
        var signingInput = Header + "." + jwt.Split('.')[1];
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}

/// <summary>Discovery names exactly the ID token algorithm in use, not the algorithms of OpenIddict's keys.</summary>
public sealed class AdvertiseIdTokenAlgorithm(Behaviours behaviours) : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseSingletonHandler<AdvertiseIdTokenAlgorithm>()
            .SetOrder(OpenIddictServerHandlers.Discovery.AttachSigningAlgorithms.Descriptor.Order + 500)
            .Build();

    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.IdTokenSigningAlgorithms.Clear();
        context.IdTokenSigningAlgorithms.Add(behaviours.IdTokenAlgorithm);
        return default;
    }
}
