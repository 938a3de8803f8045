using System.Text.Json.Nodes;
using Exchange.Api.Common.Http;
using Microsoft.OpenApi;

namespace Exchange.Api.Features.Challenges;

/// <summary>
/// The callback's body and answers in the OpenAPI document. The handler parses the body itself (strictly, to
/// audit anything else), so nothing is inferred: the shape VivoKey Connect sends is written out here.
/// </summary>
public static class CallbackDocument
{
    public static RouteHandlerBuilder WithCallbackBodyAndAnswers(this RouteHandlerBuilder endpoint) => endpoint
        .WithRequestBody(Body)
        .WithResponse(StatusCodes.Status200OK, "Applied, a repeat, or late")
        .WithResponse(StatusCodes.Status404NotFound, "An id we never issued")
        .WithResponse(StatusCodes.Status409Conflict, "vivo_id contradicts the ones we hold, the id was replaced by a newer one, or another challenge for the id already decided")
        .WithResponse(StatusCodes.Status400BadRequest, "Not the documented shape");

    private static OpenApiRequestBody Body() => new()
    {
        Required = true,
        Description = "The body of VivoKey Connect's Validation API callback: `message` and `error` only when `success` is false.",
        Content = new Dictionary<string, OpenApiMediaType>
        {
            [OpenApiMetadata.Json] = new()
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
}
