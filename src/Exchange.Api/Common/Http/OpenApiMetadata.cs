using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Exchange.Api.Common.Http;

/// <summary>
/// What <c>WithSummary</c>, <c>WithTags</c> and <c>Produces</c> cannot say on an endpoint's Map call: a
/// response's own wording, examples, and a body the handler reads itself. Each adds a transformer to that
/// endpoint alone, so the description lives beside the code it describes.
/// </summary>
public static class OpenApiMetadata
{
    public const string Json = "application/json";
    public const string Problem = "application/problem+json";

    /// <summary>An example of the JSON request body, shown beside its schema.</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, JsonNode example)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.RequestBody?.Content?.TryGetValue(Json, out var media) == true && media is not null)
            {
                media.Example = example;
            }

            return Task.CompletedTask;
        });

    /// <summary>A request body the handler parses itself (so none is inferred), with its schema and examples.</summary>
    public static TBuilder WithRequestBody<TBuilder>(this TBuilder builder, Func<OpenApiRequestBody> body)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = body();
            return Task.CompletedTask;
        });

    /// <summary>
    /// A response's description and, optionally, an example in <paramref name="contentType"/>; the response is added
    /// if no <c>Produces</c> declared it, and a schema <c>Produces</c> inferred is kept.
    /// </summary>
    public static TBuilder WithResponse<TBuilder>(this TBuilder builder, int status, string description, JsonNode? example = null, string contentType = Json)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Responses ??= [];
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.GetValueOrDefault(key) is not OpenApiResponse response)
            {
                response = new OpenApiResponse();
                operation.Responses[key] = response;
            }

            response.Description = description;
            if (example is not null)
            {
                response.Content ??= new Dictionary<string, OpenApiMediaType>();
                if (!response.Content.TryGetValue(contentType, out var media) || media is null)
                {
                    media = new OpenApiMediaType();
                    response.Content[contentType] = media;
                }

                media.Example = example;
            }

            return Task.CompletedTask;
        });
}
