using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Exchange.Api.Common.Http;

/// <summary>
/// The OpenAPI document of the exchange's API (<c>/openapi/v1.json</c>), which the reference page
/// <c>/api-reference</c> renders. Each endpoint carries its own summary, tag, description and examples on
/// its Map call (see <see cref="OpenApiMetadata"/>); only the document's title and introduction are here.
/// </summary>
public static class ApiReference
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    public static IServiceCollection AddApiReference(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.CreateSchemaReferenceId = SchemaName;
            options.AddDocumentTransformer(Introduce);
        });

    public static void MapApiReference(this IEndpointRouteBuilder app) => app.MapOpenApi(DocumentPath).AllowAnonymous();

    /// <summary>
    /// A use case's own records are nested and share short names (<c>Body</c>, <c>Response</c>, <c>Preview</c>): named by
    /// their type alone, every request body would point at one schema. The use case's name goes first.
    /// </summary>
    private static string? SchemaName(JsonTypeInfo type) =>
        OpenApiOptions.CreateDefaultSchemaReferenceId(type) is not { } name ? null
            : type.Type.DeclaringType is { } useCase ? useCase.Name + name : name;

    private static Task Introduce(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
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
    }
}
