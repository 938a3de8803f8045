using System.Net;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

public sealed class SignInReturnUrlFixture : ExchangeFixture;

/// <summary>
/// <c>/login?returnUrl=</c> takes the browser back to a local path only. Browsers drop tabs and line breaks from
/// a Location and read a backslash as a slash, so each of these would leave the exchange if it were sent on:
/// after the sign-in the exchange's own redirect (its Location header, not just the page it ends on) is <c>/</c>.
/// </summary>
public sealed class SignInReturnUrlTests(SignInReturnUrlFixture system) : IClassFixture<SignInReturnUrlFixture>
{
    [Theory]
    [InlineData("/%09/evil.example")]
    [InlineData("/%5Cevil")]
    [InlineData("/%5C%5Cevil.example")]
    [InlineData("//evil")]
    [InlineData("%2F%2Fevil")]
    [InlineData("https://evil")]
    [InlineData("https%3A%2F%2Fevil.example%2F")]
    [InlineData("/%0D%0ALocation:%20https://evil.example")]
    [InlineData("/withdrawals%5Cevil")]
    [InlineData("/%7F/evil.example")]
    [InlineData("evil.example")]
    public async Task A_return_url_that_is_not_a_local_path_sends_the_browser_home(string returnUrl)
    {
        using var trader = await system.NewTraderAsync();

        Assert.Equal("/", await SignInLocationAsync(trader, returnUrl));
    }

    [Theory]
    [InlineData("/api/me", "/api/me")]
    [InlineData("/%3Fnext%3D1", "/?next=1")]
    [InlineData("/", "/")]
    public async Task A_local_path_is_where_the_browser_returns(string returnUrl, string location)
    {
        using var trader = await system.NewTraderAsync();

        Assert.Equal(location, await SignInLocationAsync(trader, returnUrl));
    }

    /// <summary>Signs in again as a browser would, hop by hop; returns the Location the exchange answers the code with.</summary>
    private async Task<string> SignInLocationAsync(Trader trader, string returnUrlQuery)
    {
        var exchangeAuthority = new Uri(system.ExchangeUrl).Authority;
        using var exchange = trader.WithoutRedirects(system.ExchangeUrl);
        using var simulator = trader.WithoutRedirects(system.SimulatorUrl);
        HttpClient On(Uri url) => url.Authority == exchangeAuthority ? exchange : simulator;

        var next = await exchange.GetAsync($"/login?login_hint={Uri.EscapeDataString(trader.Subject)}&returnUrl={returnUrlQuery}");
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = next;
            var from = response.RequestMessage!.RequestUri!;
            if (from.AbsolutePath == "/signin-oidc" && from.Authority == exchangeAuthority)
            {
                // The exchange's answer to the code: where it sends the browser.
                Assert.Equal(HttpStatusCode.Found, response.StatusCode);
                return response.Headers.Location!.OriginalString;
            }

            if (response.StatusCode == HttpStatusCode.OK)
            {
                // response_mode=form_post: a page whose script posts the code; post it as the browser would.
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(AutoPostForm.TryParse(body, out var action, out var fields), $"{from} answered a page without the sign-in's form: {body[..Math.Min(body.Length, 400)]}");
                var target = new Uri(from, action);
                next = await On(target).PostAsync(target, new FormUrlEncodedContent(fields));
                continue;
            }

            Assert.True(response.Headers.Location is not null, $"{from} answered {(int)response.StatusCode} without a Location");
            var to = new Uri(from, response.Headers.Location!);
            next = await On(to).GetAsync(to);
        }

        throw new InvalidOperationException("The sign-in did not come back to the exchange within 10 hops.");
    }
}
