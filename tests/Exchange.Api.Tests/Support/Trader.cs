using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// A signed-in trader: a browser-like client (cookies, redirects) on the exchange, sending the anti-forgery
/// header the pages send on every request. <paramref name="browser"/> replaces the plain handler (one that
/// stands for a TLS terminator, say); <paramref name="exchangeUrl"/> the fixture's address.
/// </summary>
public sealed class Trader(ExchangeFixture system, string subject, string email, Func<CookieContainer, HttpMessageHandler>? browser = null, string? exchangeUrl = null) : IDisposable
{
    /// <summary>What the pages send with every unsafe request under /api (Features/Account/WebSession.cs).</summary>
    public const string AntiForgeryHeader = "X-Requested-With";
    public const string AntiForgeryValue = "exchange";

    public string Subject { get; } = subject;
    public string Email { get; } = email;

    /// <summary>The account handle the exchange issued ("EX-7KQ2-9M4D"), as <c>/api/me</c> showed it at sign-in.</summary>
    public string Handle { get; private set; } = "";

    private readonly CookieContainer _cookies = new();

    /// <summary>The browser's cookie jar.</summary>
    public CookieContainer Cookies => _cookies;

    public HttpClient Http => field ??= On(exchangeUrl ?? system.ExchangeUrl);

    /// <summary>The same browser (its cookies: the session) on another address, such as one instance behind the load balancer.</summary>
    public HttpClient On(string baseUrl)
    {
        var handler = browser?.Invoke(_cookies) ?? new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true, CookieContainer = _cookies };
        // A 500 from the in-process exchange fails the test with what the exchange logged.
        var client = new HttpClient(system.HasExchangeInProcess ? new ServerErrorHandler(system.Errors, handler) : handler)
        {
            BaseAddress = new Uri(baseUrl),
        };
        client.DefaultRequestHeaders.Add(AntiForgeryHeader, AntiForgeryValue);
        return client;
    }

    /// <summary>The same browser following no redirects, to see each Location an answer sends it to.</summary>
    public HttpClient WithoutRedirects(string baseUrl) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = _cookies }) { BaseAddress = new Uri(baseUrl) };

    public async Task SignInAsync()
    {
        var response = await Http.GetAsync($"/login?login_hint={Uri.EscapeDataString(Subject)}&returnUrl=/api/me");
        var body = await response.Content.ReadAsStringAsync();
        // The code comes back by response_mode=form_post: a page whose script submits a form. Submit it as a browser would.
        if (AutoPostForm.TryParse(body, out var action, out var fields))
        {
            response.Dispose();
            response = await Http.PostAsync(action, new FormUrlEncodedContent(fields));
            body = await response.Content.ReadAsStringAsync();
        }

        using var _ = response;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"sign-in ended at {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        Assert.True(body.StartsWith('{'), $"sign-in ended at {response.RequestMessage?.RequestUri}: {body[..Math.Min(body.Length, 600)]}");
        var me = JsonNode.Parse(body)!;
        Assert.Equal(Subject, me["subject"]!.GetValue<string>());
        Handle = me["handle"]!.GetValue<string>();
    }

    public async Task CreditAsync(string amount, string asset = "ETH")
    {
        using var response = await Http.PostAsJsonAsync("/api/dev/credit", new { asset, amount });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<(string Available, string Held)> BalanceAsync(string asset = "ETH")
    {
        var lines = (await Http.GetFromJsonAsync<JsonArray>("/api/balances"))!;
        var line = lines.Single(l => l!["asset"]!.GetValue<string>() == asset)!;
        return (line["available"]!.GetValue<string>(), line["held"]!.GetValue<string>());
    }

    public Task<HttpResponseMessage> WithdrawAsync(string amount, string address, string asset = "ETH", string? idempotencyKey = null) =>
        SendAsync("/api/withdrawals", new { asset, amount, address }, idempotencyKey);

    public Task<HttpResponseMessage> TransferAsync(string amount, string to, string asset = "ETH", string? idempotencyKey = null) =>
        SendAsync("/api/transfers", new { asset, amount, to }, idempotencyKey);

    public async Task<HttpResponseMessage> SendAsync(string path, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Asks for a withdrawal that must be accepted; returns its id.</summary>
    public async Task<Guid> AcceptedWithdrawalAsync(string amount, string address)
    {
        using var response = await WithdrawAsync(amount, address);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        return JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
    }

    public async Task<JsonObject> WithdrawalAsync(Guid id) => (await Http.GetFromJsonAsync<JsonObject>($"/api/withdrawals/{id}"))!;

    public async Task<JsonObject> TransferAsync(Guid id) => (await Http.GetFromJsonAsync<JsonObject>($"/api/transfers/{id}"))!;

    public Task<JsonObject> WaitForWithdrawalAsync(Guid id, string status, double seconds = 30) =>
        Poll.UntilAsync(() => WithdrawalAsync(id), w => w["status"]!.GetValue<string>() == status, $"withdrawal {id} to be {status}", seconds);

    public Task<JsonObject> WaitForTransferAsync(Guid id, string status, double seconds = 30) =>
        Poll.UntilAsync(() => TransferAsync(id), t => t["status"]!.GetValue<string>() == status, $"transfer {id} to be {status}", seconds);

    public void Dispose() => Http.Dispose();
}

internal static partial class AutoPostForm
{
    public static bool TryParse(string html, out string action, out Dictionary<string, string> fields)
    {
        var form = Form().Match(html);
        action = System.Net.WebUtility.HtmlDecode(form.Groups["action"].Value);
        fields = Input().Matches(form.Groups["body"].Value).ToDictionary(
            m => System.Net.WebUtility.HtmlDecode(m.Groups["name"].Value),
            m => System.Net.WebUtility.HtmlDecode(m.Groups["value"].Value));
        return form.Success;
    }

    [System.Text.RegularExpressions.GeneratedRegex("<form[^>]*method=\"post\"[^>]*action=\"(?<action>[^\"]+)\"[^>]*>(?<body>.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline | System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex Form();

    [System.Text.RegularExpressions.GeneratedRegex("<input[^>]*name=\"(?<name>[^\"]*)\"[^>]*value=\"(?<value>[^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex Input();
}
