using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Exchange.Bench;

/// <summary>A trader with a browser-like session on the exchange (cookies), signed in through the simulator.</summary>
public sealed partial class Trader(BenchSystem system, string subject) : IDisposable
{
    /// <summary>anvil's development account #1: where the bench's withdrawals go.</summary>
    public const string Destination = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public string Subject { get; } = subject;

    public HttpClient Http { get; } = new(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer(), AllowAutoRedirect = true, MaxConnectionsPerServer = 4 })
    {
        BaseAddress = new Uri(system.ExchangeUrl),
        Timeout = TimeSpan.FromSeconds(60),
        // The anti-forgery header the pages send with every unsafe request under /api.
        DefaultRequestHeaders = { { "X-Requested-With", "exchange" } },
    };

    public static async Task<Trader> CreateAsync(BenchSystem system, string subject)
    {
        using (var created = await system.Simulator.PostAsJsonAsync("/simulator/members", new { subject, name = subject, email = subject + "@example.test" }))
        {
            created.EnsureSuccessStatusCode();
        }

        var trader = new Trader(system, subject);
        await trader.SignInAsync();
        using var credit = await trader.Http.PostAsJsonAsync("/api/dev/credit", new { asset = "ETH", amount = "1000" });
        credit.EnsureSuccessStatusCode();
        return trader;
    }

    private async Task SignInAsync()
    {
        var response = await Http.GetAsync($"/login?login_hint={Uri.EscapeDataString(Subject)}&returnUrl=/api/me");
        var body = await response.Content.ReadAsStringAsync();
        var form = Form().Match(body);
        if (form.Success)
        {
            var fields = Input().Matches(form.Groups["body"].Value).ToDictionary(
                m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
            response.Dispose();
            response = await Http.PostAsync(WebUtility.HtmlDecode(form.Groups["action"].Value), new FormUrlEncodedContent(fields));
            body = await response.Content.ReadAsStringAsync();
        }

        using var _ = response;
        if (response.StatusCode != HttpStatusCode.OK || !body.StartsWith('{'))
        {
            throw new InvalidOperationException($"Sign-in of {Subject} ended at {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body[..Math.Min(400, body.Length)]}");
        }
    }

    /// <summary>Asks for a withdrawal; returns the status code, the id when accepted, and the body otherwise.</summary>
    public async Task<(int Status, Guid? Id, string? Error)> WithdrawAsync(string amount)
    {
        using var response = await Http.PostAsJsonAsync("/api/withdrawals", new { asset = "ETH", amount, address = Destination });
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.Accepted
            ? (202, JsonNode.Parse(body)!["id"]!.GetValue<Guid>(), null)
            : ((int)response.StatusCode, null, body);
    }

    public void Dispose() => Http.Dispose();

    [GeneratedRegex("<form[^>]*method=\"post\"[^>]*action=\"(?<action>[^\"]+)\"[^>]*>(?<body>.*?)</form>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Form();

    [GeneratedRegex("<input[^>]*name=\"(?<name>[^\"]*)\"[^>]*value=\"(?<value>[^\"]*)\"")]
    private static partial Regex Input();
}
