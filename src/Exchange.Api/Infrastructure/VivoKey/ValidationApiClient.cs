using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

public enum ValidationAnswer
{
    Accepted,

    /// <summary>
    /// The member's token was not good enough: 401 whatever the body says, 403 with no JSON refusal (an OAuth server
    /// may answer with an empty or HTML body), or a JSON refusal naming token-expired or invalid-token. Refresh once
    /// and resend.
    /// </summary>
    TokenRejected,

    /// <summary>VivoKey refused the challenge itself: accepted: false, or another 4xx. Not retried.</summary>
    Refused,

    /// <summary>No usable answer: network error, time-out, 5xx, 408, 429, or a 2xx whose body is not the documented shape.</summary>
    Unavailable,
}

/// <summary>What VivoKey answered; <paramref name="Body"/> is kept (shortened) for the operator when it refused.</summary>
public sealed record ValidationResult(ValidationAnswer Answer, string? VivoId, string? Error, string? Message, int? Status = null, string? Body = null);

/// <summary>
/// POSTs validation challenges to VivoKey's Validation API and classifies the answer by its status first, its body
/// second: the published reference shows only JSON bodies, but an OAuth server in front of it answers a bad token
/// with a bare 401 or 403, and a proxy answers with HTML.
/// </summary>
public sealed class ValidationApiClient(IHttpClientFactory http, IOptions<VivoKeyOptions> options, ILogger<ValidationApiClient> logger)
{
    /// <summary>The most of a refusal's body kept for the operator.</summary>
    public const int KeptBodyCharacters = 1000;

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
            return Classify((int)response.StatusCode, body);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("The Validation API did not answer usably: {Error}", ex.Message);
            return new(ValidationAnswer.Unavailable, null, ex is OperationCanceledException ? "timeout" : "unreachable", ex.Message);
        }
    }

    /// <summary>Status first: 401/403 is the token, 408/429/5xx a retry, another 4xx a refusal; then the documented body.</summary>
    public static ValidationResult Classify(int status, string body)
    {
        var document = Parse(body);
        var kept = Keep(body);
        // 401 is the token whatever the body; 403 when it says nothing else (empty, HTML) or names a token error. A 403
        // whose JSON names another reason (a callback not registered, a blocked client) is a refusal: refreshing the
        // member's token would not help, and failing it would sign every member out.
        if (status == 401 || (status == 403 && (document is null || document.Error is "token-expired" or "invalid-token")))
        {
            return new(ValidationAnswer.TokenRejected, null, document?.Error ?? $"http_{status}", document?.Message, status, kept);
        }

        if (status is 408 or 429 or >= 500)
        {
            return new(ValidationAnswer.Unavailable, null, $"http_{status}", kept, status, kept);
        }

        if (document is { Accepted: false, Error: "token-expired" or "invalid-token" })
        {
            return new(ValidationAnswer.TokenRejected, null, document.Error, document.Message, status, kept);
        }

        if (status >= 400)
        {
            return new(ValidationAnswer.Refused, null, document?.Error ?? $"http_{status}", document?.Message, status, kept);
        }

        return document switch
        {
            { Accepted: true } => new(ValidationAnswer.Accepted, document.VivoId, null, null, status),
            { Accepted: false } => new(ValidationAnswer.Refused, null, document.Error, document.Message, status, kept),
            _ => new(ValidationAnswer.Unavailable, null, "unexpected_answer", kept, status, kept),
        };
    }

    private sealed record Answer(bool Accepted, string? VivoId, string? Error, string? Message);

    /// <summary>The documented body, { accepted, vivo_id } or { accepted: false, error, message }; null for anything else.</summary>
    private static Answer? Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("accepted", out var accepted)
                || accepted.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return null;
            }

            // A vivo_id longer than the column holds is not one we can record: as if none was given.
            var vivoId = root.TryGetProperty("vivo_id", out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number && v.ToString().Length <= 256
                ? v.ToString()
                : null;
            return new(accepted.GetBoolean(), vivoId, Text(root, "error"), Text(root, "message"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Keep(string body) =>
        body.Length == 0 ? null : body.Length <= KeptBodyCharacters ? body : body[..KeptBodyCharacters] + "…";

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
