using System.Collections.Concurrent;
using System.Net;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Stands for the TLS terminator in front of the exchange, and for the browser behind it: the client asks
/// https://host:port, the terminator forwards over plain http to the same port with X-Forwarded-Proto: https
/// (from loopback, a trusted proxy). Cookies are kept by the address the browser sees, so Secure ones travel;
/// redirects are followed here, as a browser would, each hop through the terminator again.
/// </summary>
public sealed class TlsTerminator(CookieContainer cookies, string exchangeUrl)
    : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
{
    private readonly string _exchange = new Uri(exchangeUrl).Authority;

    /// <summary>The exchange's address as the browser sees it.</summary>
    public static string HttpsOf(string exchangeUrl) => "https://" + new Uri(exchangeUrl).Authority;

    /// <summary>Every Set-Cookie the exchange answered, in order.</summary>
    public ConcurrentQueue<string> SetCookies { get; } = new();

    /// <summary>Every response header the exchange answered, by name (the last value of each).</summary>
    public ConcurrentDictionary<string, string> LastHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var hop = 0; ; hop++)
        {
            var response = await ForwardAsync(request, cancellationToken);
            if (hop >= 10 || (int)response.StatusCode is not (301 or 302 or 303) || response.Headers.Location is null)
            {
                return response;
            }

            var next = new HttpRequestMessage(HttpMethod.Get, new Uri(request.RequestUri!, response.Headers.Location));
            foreach (var header in request.Headers.Where(h => h.Key is not ("Cookie" or "Host" or "X-Forwarded-Proto")))
            {
                next.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Dispose();
            request = next;
        }
    }

    private async Task<HttpResponseMessage> ForwardAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var seen = request.RequestUri!;
        var cookieHeader = cookies.GetCookieHeader(seen);
        request.Headers.Remove("Cookie");
        if (cookieHeader.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookieHeader);
        }

        var toExchange = seen.Scheme == Uri.UriSchemeHttps && seen.Authority == _exchange;
        if (toExchange)
        {
            request.RequestUri = new UriBuilder(seen) { Scheme = Uri.UriSchemeHttp, Port = seen.Port }.Uri;
            request.Headers.Remove("X-Forwarded-Proto");
            request.Headers.Add("X-Forwarded-Proto", "https");
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            foreach (var value in values)
            {
                if (toExchange)
                {
                    SetCookies.Enqueue(value);
                }

                cookies.SetCookies(seen, value);
            }
        }

        if (toExchange)
        {
            foreach (var header in response.Headers)
            {
                LastHeaders[header.Key] = string.Join(", ", header.Value);
            }

            request.RequestUri = seen;
        }

        return response;
    }
}
