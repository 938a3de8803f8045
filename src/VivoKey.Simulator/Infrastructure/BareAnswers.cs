using Microsoft.AspNetCore.Diagnostics;

namespace VivoKey.Simulator.Infrastructure;

/// <summary>
/// Answers with no JSON, as a web server, framework or proxy in front of the real service might
/// send: a status with an empty body, or a small HTML page.
/// </summary>
public static class BareAnswers
{
    /// <summary>The status alone, with no body at all.</summary>
    public static IResult Empty(HttpContext http, int statusCode)
    {
        // UseStatusCodePages would otherwise write a problem document into the empty answer.
        if (http.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }

        return Results.StatusCode(statusCode);
    }

    /// <summary>Django's default page for a refused request.</summary>
    public static IResult Forbidden() =>
        Results.Content("<h1>403 Forbidden</h1>", "text/html; charset=utf-8", statusCode: StatusCodes.Status403Forbidden);
}
