using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

public enum ValidationAnswer
{
    Accepted,
    /// <summary>VivoKey answered accepted: false.</summary>
    Refused,
    /// <summary>No usable answer: network error, time-out, 5xx or a body that is not the documented shape.</summary>
    Unavailable,
}

public sealed record ValidationResult(ValidationAnswer Answer, string? VivoId, string? Error, string? Message);

/// <summary>POSTs validation challenges to VivoKey's Validation API.</summary>
public sealed class ValidationApiClient(IHttpClientFactory http, IOptions<VivoKeyOptions> options, ILogger<ValidationApiClient> logger)
{
    public async Task<ValidationResult> SendAsync(string accessToken, string id, string message, int timeoutSeconds, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.ValidationEndpoint)
        {
            Content = JsonContent.Create(new { message, id, timeout = timeoutSeconds, callback = settings.CallbackUrl }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(settings.RequestTimeoutSeconds));
        try
        {
            using var response = await http.CreateClient(VivoKeyHttp.ClientName).SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if ((int)response.StatusCode >= 500)
            {
                return new(ValidationAnswer.Unavailable, null, $"http_{(int)response.StatusCode}", body);
            }

            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("accepted", out var accepted)
                && accepted.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return accepted.GetBoolean()
                    ? new(ValidationAnswer.Accepted, root.TryGetProperty("vivo_id", out var v) ? v.ToString() : null, null, null)
                    : new(ValidationAnswer.Refused, null, Text(root, "error"), Text(root, "message"));
            }

            return new(ValidationAnswer.Unavailable, null, "unexpected_answer", body);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("The Validation API did not answer usably: {Error}", ex.Message);
            return new(ValidationAnswer.Unavailable, null, ex is OperationCanceledException ? "timeout" : "unreachable", ex.Message);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
