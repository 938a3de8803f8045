using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Exchange.Api.Common.Http;

/// <summary>
/// The OpenAPI document of the exchange's API (<c>/openapi/v1.json</c>), which the reference page
/// <c>/api-reference</c> renders. Summaries, tags and examples are kept here, in one table, so the
/// endpoints' own files stay about what they do.
/// </summary>
public static partial class ApiDocument
{
    public const string Path = "/openapi/{documentName}.json";
    public const string V1 = "/openapi/v1.json";

    private sealed record Operation(string Tag, string Summary, string? Description = null);

    private static readonly Dictionary<string, Operation> Operations = new(StringComparer.Ordinal)
    {
        ["GET /login"] = new("Account", "Start \"Log in with VivoKey\"",
            "Sends the browser to VivoKey (OpenID Connect code flow with PKCE). `login_hint` is passed on; `returnUrl` must be a local path."),
        ["POST /logout"] = new("Account", "End the session", "204. The session ends on the server: a copy of the cookie is refused afterwards."),
        ["GET /api/me"] = new("Account", "The signed-in member: subject, account handle, name, email and roles"),
        ["GET /api/session"] = new("Account", "Whether anyone is signed in, and who", "200 for visitors too: `{ signedIn: false, member: null }`."),
        ["GET /api/balances"] = new("Balances", "The member's balances per asset: available and held"),
        ["POST /api/dev/credit"] = new("Balances", "Credit the caller (development only)", "For demos and tests; mapped only where Exchange:DevCreditEndpoint is on (by default in Development only), refused in Production."),
        ["POST /api/withdrawals"] = new("Withdrawals", "Ask to withdraw to an outside address",
            "Holds the funds and challenges the member's VivoKey. Nothing moves until they tap. Refused with 400 and `errors[field]` for an unknown asset, " +
            "an amount ≤ 0, with too many decimals or too long to show beside 24 hex digits of the address on the phone, or an address that is not 0x + 40 hex digits or fails its EIP-55 checksum; 409 when the amount is over the available balance. " +
            "Send an `Idempotency-Key` header to make a retry safe."),
        ["GET /api/withdrawals/preview"] = new("Withdrawals", "Preview the words the member's phone will show",
            "Checked by the same rules as the request; creates, holds and audits nothing."),
        ["GET /api/withdrawals"] = new("Withdrawals", "The member's own withdrawals, newest first, paged"),
        ["GET /api/withdrawals/{id}"] = new("Withdrawals", "One withdrawal, to its owner, with its status history"),
        ["POST /api/withdrawals/{id}/cancel"] = new("Withdrawals", "Cancel a withdrawal while it waits for the tap"),
        ["POST /api/transfers"] = new("Transfers", "Ask to send funds to another member (by account handle or VivoKey subject, never email)",
            "Like a withdrawal: held, challenged, and settled inside the ledger once the member taps. `to` is the receiver's account handle " +
            "(`EX-7KQ2-9M4D`: any letter case, the dashes required) or VivoKey subject; an email, which VivoKey does not verify, is refused with 400 naming `to`."),
        ["GET /api/transfers/preview"] = new("Transfers", "Preview the words the member's phone will show"),
        ["GET /api/transfers/{id}"] = new("Transfers", "One transfer, to its sender"),
        ["GET /api/events"] = new("Withdrawals", "Live status of the member's requests (Server-Sent Events)",
            "`text/event-stream`. Opens with a `status` event per recent request (its current state), then `ready`; then a `status` event " +
            "`{ kind, id, status, txHash, confirmations, updatedAt }` for every change committed on any instance, and `ping` when quiet."),
        ["POST /vivokey/callback"] = new("VivoKey", "VivoKey's Validation API callback",
            "200 when applied, a repeat, or late (changes nothing); 404 for an `id` never issued; 409 when `vivo_id` contradicts ours; 400 for another shape. All audited."),
        ["GET /api/audit"] = new("Compliance", "Search the audit trail (compliance)", "Filters: `subject`, `actor`, `action`, `from`, `to`; newest first, paged."),
        ["GET /api/audit/export"] = new("Compliance", "Export the audit trail as CSV or JSON lines (compliance)"),
        ["GET /api/audit/verify"] = new("Compliance", "Verify the audit trail's hash chain (compliance)"),
        ["GET /api/operations/stuck"] = new("Operations", "Requests sitting in one state too long, with the actions that apply"),
        ["POST /api/operations/actions"] = new("Operations", "Ask for an operator action; it runs once the operator taps their implant"),
        ["GET /api/operations/actions"] = new("Operations", "Recent operator actions"),
        ["GET /api/operations/actions/{id}"] = new("Operations", "One operator action"),
        ["GET /api/operations/invariants"] = new("Operations", "Check the system's invariants now"),
        ["POST /api/operations/members/{subject}/sessions/revoke"] = new("Operations", "End every session of a member (operator)",
            "`{ subject, revoked }`; audited as `sessions.revoked`. 404 for an unknown subject."),
        ["GET /health/live"] = new("Health", "Liveness"),
        ["GET /health/ready"] = new("Health", "Readiness: PostgreSQL, the chain node and the IdP"),
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Exchange approval API",
                Version = "v1",
                Description = "Withdrawals and transfers that move only once the trader taps their VivoKey implant. JSON bodies, camelCase names, " +
                    "statuses in snake_case, amounts as decimal strings in the asset's unit. Errors are RFC 7807 problem details with an `errors` map " +
                    "for validation failures. Members sign in with VivoKey (`GET /login`) and are identified by the `exchange.session` cookie " +
                    "(`__Host-exchange.session` outside Development). POST, PUT, PATCH and DELETE under /api carry `X-Requested-With: exchange` (400 without it).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var key = $"{context.Description.HttpMethod} /{Constraint().Replace(context.Description.RelativePath ?? "", "")}";
            if (Operations.TryGetValue(key, out var described))
            {
                operation.Summary = described.Summary;
                operation.Description = described.Description;
                operation.Tags = new HashSet<OpenApiTagReference> { new(described.Tag) };
            }

            switch (key)
            {
                case "POST /api/withdrawals":
                    Example(operation.RequestBody, new JsonObject { ["asset"] = "ETH", ["amount"] = "1.25", ["address"] = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F" });
                    operation.Responses?.Remove("200");
                    AddResponse(operation, "202", "Accepted: the member's phone shows the challenge message", new JsonObject
                    {
                        ["id"] = "0193a0c4-7b7e-7c1a-9d2e-5f0b8a1c2d3e",
                        ["status"] = "pending_approval",
                        ["challengeMessage"] = "Withdraw 1.25 ETH to 0x71C7…976F",
                    });
                    AddResponse(operation, "400", "Refused: which field and why", new JsonObject
                    {
                        ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                        ["title"] = "The request is not valid.",
                        ["status"] = 400,
                        ["errors"] = new JsonObject
                        {
                            ["amount"] = new JsonArray("The amount has more than the 18 decimals ETH has."),
                            ["address"] = new JsonArray("The address fails its EIP-55 checksum."),
                        },
                    }, "application/problem+json");
                    break;
                case "POST /api/transfers":
                    Example(operation.RequestBody, new JsonObject { ["asset"] = "ETH", ["amount"] = "0.5", ["to"] = "bob@example.com" });
                    operation.Responses?.Remove("200");
                    AddResponse(operation, "202", "Accepted: the member's phone shows the challenge message", new JsonObject
                    {
                        ["id"] = "0193a0c4-9c1d-7e2f-8a3b-4c5d6e7f8091",
                        ["status"] = "pending_approval",
                        ["challengeMessage"] = "Send 0.5 ETH to Bob Builder",
                    });
                    break;
                case "POST /vivokey/callback":
                    operation.RequestBody = CallbackBody();
                    AddResponse(operation, "200", "Applied, a repeat, or late", null);
                    AddResponse(operation, "404", "An id we never issued", null);
                    AddResponse(operation, "409", "vivo_id contradicts the one we hold", null);
                    AddResponse(operation, "400", "Not the documented shape", null);
                    break;
            }

            return Task.CompletedTask;
        });
    }

    private static OpenApiRequestBody CallbackBody()
    {
        var body = new OpenApiRequestBody
        {
            Required = true,
            Description = "The body of VivoKey Connect's Validation API callback: `message` and `error` only when `success` is false.",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "success", "vivo_id", "id" },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["success"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "true when the member tapped" },
                            ["message"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "human-readable, when success is false" },
                            ["error"] = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String,
                                Description = "machine-readable, when success is false",
                                Enum = [JsonValue.Create("declined"), JsonValue.Create("timeout"), JsonValue.Create("token-expired")],
                            },
                            ["vivo_id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "VivoKey's id for the challenge" },
                            ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "our challenge id, as we sent it" },
                        },
                    },
                    Examples = new Dictionary<string, IOpenApiExample>
                    {
                        ["tapped"] = new OpenApiExample
                        {
                            Summary = "The member tapped",
                            Value = new JsonObject { ["success"] = true, ["vivo_id"] = "vk_8f2c61d0a4", ["id"] = "c1.AbC…xyz" },
                        },
                        ["declined"] = new OpenApiExample
                        {
                            Summary = "The member declined",
                            Value = new JsonObject
                            {
                                ["success"] = false, ["message"] = "The member declined the authorization", ["error"] = "declined",
                                ["vivo_id"] = "vk_8f2c61d0a4", ["id"] = "c1.AbC…xyz",
                            },
                        },
                    },
                },
            },
        };
        return body;
    }

    private static void Example(IOpenApiRequestBody? body, JsonNode example)
    {
        if (body?.Content?.TryGetValue("application/json", out var json) == true && json is OpenApiMediaType media)
        {
            media.Example = example;
        }
    }

    private static void AddResponse(OpenApiOperation operation, string status, string description, JsonNode? example, string contentType = "application/json")
    {
        operation.Responses ??= [];
        var response = new OpenApiResponse { Description = description };
        if (example is not null)
        {
            response.Content = new Dictionary<string, OpenApiMediaType> { [contentType] = new() { Example = example } };
        }

        operation.Responses[status] = response;
    }

    [GeneratedRegex(":[^}]+")]
    private static partial Regex Constraint();
}
