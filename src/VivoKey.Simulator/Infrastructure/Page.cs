using System.Net;
using System.Text;

namespace VivoKey.Simulator.Infrastructure;

/// <summary>The simulator's small HTML pages: one layout, everything encoded.</summary>
public static class Page
{
    public static string E(string? value) => WebUtility.HtmlEncode(value ?? "");

    public static IResult Html(string title, string body, int statusCode = 200, int? refreshSeconds = null, string? head = null)
    {
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append(refreshSeconds is { } s ? $"<meta http-equiv=\"refresh\" content=\"{s}\">" : "")
            .Append("<title>").Append(E(title)).Append(" · VivoKey simulator</title><style>")
            .Append("body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}")
            .Append("h1{font-size:1.4rem}.card{border:1px solid #ddd;border-radius:.6rem;padding:1rem;margin:.8rem 0}")
            .Append("button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #555;background:#fff;cursor:pointer;margin:.2rem}")
            .Append("button.primary{background:#0b5cff;border-color:#0b5cff;color:#fff}button.danger{border-color:#b00020;color:#b00020}")
            .Append("input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}")
            .Append(".muted{color:#666;font-size:.9rem}.badge{font-size:.75rem;background:#eee;border-radius:.3rem;padding:.1rem .4rem}")
            .Append("footer{margin-top:2rem;color:#888;font-size:.8rem}")
            .Append("</style>")
            .Append(head ?? "")
            .Append("</head><body>")
            .Append(body)
            .Append("<footer>VivoKey Connect simulator: a development stand-in, not the real service.</footer></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, statusCode);
    }

    public static string Hidden(string name, string? value) =>
        $"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">";
}
