using System.Security.Cryptography;
using System.Text.Json;
using OpenIddict.Abstractions;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;

namespace VivoKey.Simulator.Validation;

/// <summary>
/// The Validation API: POST a challenge with the member's access token. Answers
/// <c>{ accepted: true, vivo_id }</c> or <c>{ accepted: false, message, error }</c> as the reference says.
/// </summary>
public static class ValidateEndpoint
{
    public const string ValidateScope = "Validate";
    public const int MaxMessageLength = 60;
    public const int MaxIdLength = 256;
    public const int MinTimeout = 30;
    public const int MaxTimeout = 86400;
    public const int DefaultTimeout = 60;
    private const int MaxBodyBytes = 16 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        // The reference's path, and the one a public demo builds; both are served.
        app.MapPost("/v1.0/validate/", HandleAsync);
        app.MapPost("/api/v1.0/validate/", HandleAsync);
    }

    private static async Task<IResult> HandleAsync(
        HttpContext http,
        ChallengeStore store,
        ClientRegistry clients,
        FaultRules faults,
        Behaviours behaviours,
        MemberActions actions,
        CallbackDispatcher dispatcher,
        ChallengeAutoTap autoTap,
        TimeProvider clock,
        IOpenIddictTokenManager tokens)
    {
        var cancellationToken = http.RequestAborted;
        var (caller, tokenRefusal) = await TokenCheck.CheckAsync(http, tokens, clock, faults.RunPlan.TokenErrorsAsStatus);
        if (caller is null)
        {
            return tokenRefusal!;
        }

        var (request, refusal) = await ReadRequestAsync(http.Request, caller.ClientId, clients);
        if (refusal is not null)
        {
            return refusal;
        }

        var plan = faults.Take(caller.ClientId, caller.Member);
        switch (plan.Post)
        {
            case PostFault.Error500:
            case PostFault.Error503:
                var status = plan.Post == PostFault.Error500 ? 500 : 503;
                return Results.Json(new { accepted = false, message = "Simulated server error.", error = "server-error" }, statusCode: status);
            case PostFault.Hang:
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(plan.HangSeconds), clock, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return Results.Empty;
                }

                return Results.StatusCode(StatusCodes.Status504GatewayTimeout);
        }

        var now = clock.GetUtcNow();
        var challenge = new Challenge
        {
            VivoId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            Id = request!.Id,
            ClientId = caller.ClientId,
            Member = caller.Member,
            Message = request.Message,
            Callback = request.Callback,
            TokenId = caller.TokenId,
            CreatedAt = now,
            Deadline = now.AddSeconds(request.Timeout),
            Faults = plan,
        };
        if (!store.TryAdd(challenge, behaviours.DeduplicateIds))
        {
            return Refuse(StatusCodes.Status409Conflict, "duplicate-id", "This id was already used by this client; ids are unique per request.");
        }

        if (plan.Callback == CallbackFault.BeforeResponse
            && await actions.EndAsync(challenge, plan.BeforeResponseDeclines ? MemberAction.Decline : MemberAction.Tap, cancellationToken))
        {
            await dispatcher.DispatchAsync(challenge, cancellationToken);
        }
        else
        {
            autoTap.AfterResponse(http.Response, challenge.VivoId);
        }

        // The challenge stands; only its answer is lost on the way back.
        return plan.Post == PostFault.AnswerLost
            ? BareAnswers.Empty(http, StatusCodes.Status502BadGateway)
            : Results.Json(new { accepted = true, vivo_id = challenge.VivoId });
    }

    private sealed record ChallengeRequest(string Message, string Id, int Timeout, string Callback);

    private static async Task<(ChallengeRequest?, IResult?)> ReadRequestAsync(HttpRequest request, string clientId, ClientRegistry clients)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, Refuse(400, "invalid-request", $"The body may not exceed {MaxBodyBytes} bytes."));
        }

        JsonDocument document;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            if (buffer.Length > MaxBodyBytes)
            {
                return (null, Refuse(400, "invalid-request", $"The body may not exceed {MaxBodyBytes} bytes."));
            }

            document = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            return (null, Refuse(400, "invalid-request", "The body must be a JSON dictionary."));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, Refuse(400, "invalid-request", "The body must be a JSON dictionary."));
            }

            var message = StringField(root, "message");
            if (string.IsNullOrWhiteSpace(message) || CharacterCount(message) > MaxMessageLength)
            {
                return (null, Refuse(400, "invalid-message", $"message must be a non-empty string of at most {MaxMessageLength} characters."));
            }

            var id = StringField(root, "id");
            if (string.IsNullOrEmpty(id) || CharacterCount(id) > MaxIdLength)
            {
                return (null, Refuse(400, "invalid-id", $"id must be a non-empty string of at most {MaxIdLength} characters."));
            }

            var timeout = DefaultTimeout;
            if (root.TryGetProperty("timeout", out var timeoutElement) && timeoutElement.ValueKind != JsonValueKind.Null)
            {
                if (timeoutElement.ValueKind != JsonValueKind.Number || !timeoutElement.TryGetInt32(out timeout)
                    || timeout < MinTimeout || timeout > MaxTimeout)
                {
                    return (null, Refuse(400, "invalid-timeout", $"timeout must be a whole number of seconds from {MinTimeout} to {MaxTimeout}."));
                }
            }

            var callback = StringField(root, "callback");
            if (string.IsNullOrEmpty(callback) || !clients.IsRegisteredCallback(clientId, callback))
            {
                return (null, Refuse(400, "invalid-callback", "callback must be one of the callback URLs registered for this client."));
            }

            return (new ChallengeRequest(message, id, timeout, callback), null);
        }
    }

    /// <summary>The reference counts characters; a character is a Unicode scalar value, not a UTF-16 unit.</summary>
    private static int CharacterCount(string value) => value.EnumerateRunes().Count();

    private static string? StringField(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static IResult Refuse(int statusCode, string error, string message) =>
        Results.Json(new { accepted = false, message, error }, statusCode: statusCode);
}
