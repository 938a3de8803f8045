using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Identity;

/// <summary>Registers the configured relying parties with OpenIddict at start-up.</summary>
public sealed class ClientSeeder(IServiceProvider services, SimulatorOptions options, Behaviours behaviours, ILogger<ClientSeeder> logger) : IHostedService
{
    /// <summary>Microsoft.IdentityModel refuses an HS256 key under 256 bits, so a .NET relying party could not check such a token.</summary>
    private const int ShortestHs256Key = 32;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (behaviours.IdTokenAlgorithm == IdTokenAlgorithms.HS256)
        {
            foreach (var client in options.Clients.Where(c => System.Text.Encoding.UTF8.GetByteCount(c.ClientSecret) < ShortestHs256Key))
            {
                logger.LogWarning(
                    "HS256 ID tokens for client {ClientId} are keyed with its secret of under {Bytes} bytes; Microsoft.IdentityModel will not verify them",
                    client.ClientId, ShortestHs256Key);
            }
        }

        await using var scope = services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        foreach (var client in options.Clients)
        {
            if (await applications.FindByClientIdAsync(client.ClientId, cancellationToken) is not null)
            {
                continue;
            }

            var descriptor = new OpenIddictApplicationDescriptor
            {
                ClientId = client.ClientId,
                ClientSecret = client.ClientSecret,
                ClientType = ClientTypes.Confidential,
                ConsentType = ConsentTypes.Explicit,
                DisplayName = string.IsNullOrEmpty(client.DisplayName) ? client.ClientId : client.DisplayName,
                Permissions =
                {
                    Permissions.Endpoints.Authorization,
                    Permissions.Endpoints.Token,
                    Permissions.GrantTypes.AuthorizationCode,
                    Permissions.GrantTypes.RefreshToken,
                    Permissions.ResponseTypes.Code,
                    Permissions.Scopes.Profile,
                    Permissions.Scopes.Email,
                    Permissions.Prefixes.Scope + "Validate",
                },
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            };
            foreach (var uri in client.RedirectUris)
            {
                descriptor.RedirectUris.Add(new Uri(uri));
            }

            foreach (var uri in client.PostLogoutRedirectUris)
            {
                descriptor.PostLogoutRedirectUris.Add(new Uri(uri));
            }

            await applications.CreateAsync(descriptor, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
