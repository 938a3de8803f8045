using Microsoft.Extensions.FileProviders;

namespace Exchange.Api.Features.Pages;

/// <summary>
/// The people's pages: plain HTML, CSS and JavaScript under <c>wwwroot</c>, embedded in the assembly
/// and served as they are. They read and write only through the JSON API; nothing comes from a CDN.
/// </summary>
public static class Pages
{
    public const string AssetsPath = "/assets";

    // Everything the pages load comes from here; forms post here only.
    private const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Dictionary<string, string> Routes = new(StringComparer.Ordinal)
    {
        ["/"] = "trader.html",
        ["/compliance"] = "compliance.html",
        ["/operations"] = "operations.html",
        ["/api-reference"] = "reference.html",
    };

    public static IFileProvider Files { get; } = new EmbeddedFileProvider(typeof(Pages).Assembly, "Exchange.Api.wwwroot");

    /// <summary>Scripts, styles and images under /assets, for anyone: they hold no data.</summary>
    public static void UseAssets(IApplicationBuilder app) =>
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Files,
            RequestPath = AssetsPath,
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (route, file) in Routes)
        {
            app.MapGet(route, (HttpContext http) => Serve(http, file)).AllowAnonymous().ExcludeFromDescription();
        }
    }

    private static async Task Serve(HttpContext http, string file)
    {
        var page = Files.GetFileInfo(file);
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        await using var content = page.CreateReadStream();
        await content.CopyToAsync(http.Response.Body, http.RequestAborted);
    }
}
