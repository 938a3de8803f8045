using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>The token endpoint, read once from VivoKey's discovery document.</summary>
public sealed class VivoKeyDiscovery(IHttpClientFactory http, IOptions<VivoKeyOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _tokenEndpoint;

    public async Task<string> TokenEndpointAsync(CancellationToken cancellationToken)
    {
        if (_tokenEndpoint is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_tokenEndpoint is null)
            {
                var client = http.CreateClient(VivoKeyHttp.ClientName);
                var url = options.Value.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
                using var document = JsonDocument.Parse(await client.GetStringAsync(url, cancellationToken));
                _tokenEndpoint = document.RootElement.GetProperty("token_endpoint").GetString()
                    ?? throw new InvalidOperationException("VivoKey's discovery document names no token endpoint.");
            }

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
