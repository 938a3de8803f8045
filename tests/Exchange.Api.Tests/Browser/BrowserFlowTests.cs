using System.Net;
using Exchange.Api.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Exchange.Api.Tests.Browser;

/// <summary>
/// The rest of a trader's and an operator's ways through the pages, in headless Chromium: a transfer
/// that reaches the receiver, a request declined on the phone, one expired (the fixture's clock moved
/// past its deadline), an operator's cancel carried out by their own tap, and sign-out ending the session.
/// </summary>
[Trait("Category", "Browser")]
public sealed class BrowserFlowTests(BrowserFixture system) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_transfer_tapped_on_the_phone_is_confirmed_for_the_sender_and_reaches_the_receiver()
    {
        var (sender, senderName, _) = await system.NewMemberAsync("Alan Turing");
        var (_, receiverName, _) = await system.NewMemberAsync("Barbara Liskov");
        await using var receiverBrowser = await system.NewSessionAsync();
        var receiverPage = await receiverBrowser.SignInAsync(receiverName);
        var handle = (await receiverPage.GetByTestId("my-handle").TextContentAsync())!;
        Assert.Matches("^EX-[0-9A-Z]{4}-[0-9A-Z]{4}$", handle);

        await using var browser = await system.NewSessionAsync();
        var page = await SignedInWithFundsAsync(browser, senderName, "3");
        var transfer = page.Locator("#transfer-form");
        await transfer.GetByLabel("Amount").FillAsync("0.75");
        await transfer.GetByLabel("Receiver's account handle").FillAsync(handle);
        var message = page.Locator("#transfer-message[data-ready=true]");
        await Expect(message).ToContainTextAsync(handle);
        var words = (await message.TextContentAsync())!;
        await transfer.GetByRole(AriaRole.Button, new() { Name = "Transfer, then tap your VivoKey" }).ClickAsync();
        var status = page.Locator("#current-status");
        await Expect(status).ToHaveAttributeAsync("data-status", "pending_approval");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0.75");

        await TapOnPhoneAsync(browser, sender, words, "Tap your VivoKey", "Tapped: approved.");
        await page.BringToFrontAsync();
        await Expect(status).ToHaveAttributeAsync("data-status", "confirmed");
        await Expect(status).ToHaveTextAsync("Confirmed");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("2.25");
        await BrowserSession.ScreenshotAsync(page, "trader-transfer-confirmed");

        // The receiver's page hears nothing live of a transfer to them (the stream carries the member's own requests): opened again, it shows the funds.
        await receiverPage.ReloadAsync();
        await Expect(receiverPage.GetByTestId("available-ETH")).ToHaveTextAsync("0.75");
        await Expect(receiverPage.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await BrowserSession.ScreenshotAsync(receiverPage, "trader-transfer-received");
    }

    [Fact]
    public async Task A_withdrawal_declined_on_the_phone_shows_declined_and_releases_the_funds()
    {
        var (subject, name, _) = await system.NewMemberAsync("Edsger Dijkstra");
        await using var browser = await system.NewSessionAsync();
        var page = await SignedInWithFundsAsync(browser, name, "2");
        var words = await WithdrawAsync(page, "1");

        await TapOnPhoneAsync(browser, subject, words, "Decline", "Declined.");
        await page.BringToFrontAsync();
        var status = page.Locator("#current-status");
        await Expect(status).ToHaveAttributeAsync("data-status", "declined");
        await Expect(status).ToHaveTextAsync("Declined on your phone");
        await Expect(page.Locator("#history tbody tr").First.Locator("[data-status=declined]")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("2");
        await BrowserSession.ScreenshotAsync(page, "trader-declined");
    }

    [Fact]
    public async Task A_withdrawal_never_tapped_shows_expired_once_its_deadline_and_grace_have_passed()
    {
        var (subject, name, _) = await system.NewMemberAsync("Frances Allen");
        await using var browser = await system.NewSessionAsync();
        var page = await SignedInWithFundsAsync(browser, name, "2");
        var words = await WithdrawAsync(page, "1");
        // VivoKey has the challenge (the phone shows it); no one taps.
        var phone = await PhoneAsync(browser, subject);
        await Expect(phone.Locator(".notification", new() { HasText = words })).ToBeVisibleAsync();
        await page.BringToFrontAsync();

        // Past the challenge's 60 s and the reconciler's 30 s grace on the exchange's clock, without waiting for them.
        system.Clock.Advance(TimeSpan.FromSeconds(60 + 31));
        var report = await system.RunReconcilerAsync();
        Assert.True(report.Expired >= 1, report.ToString());

        var status = page.Locator("#current-status");
        await Expect(status).ToHaveAttributeAsync("data-status", "expired");
        await Expect(status).ToHaveTextAsync("Expired: no tap in time");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("2");
        await BrowserSession.ScreenshotAsync(page, "trader-expired");
    }

    [Fact]
    public async Task An_operators_cancel_is_carried_out_by_their_tap_and_the_trader_sees_it_cancelled()
    {
        var (subject, name, _) = await system.NewMemberAsync("Ken Thompson");
        await using var traderBrowser = await system.NewSessionAsync();
        var page = await SignedInWithFundsAsync(traderBrowser, name, "2");
        var words = await WithdrawAsync(page, "1");
        var id = (await page.Locator("#history tbody tr").First.GetAttributeAsync("data-request-id"))!;
        var phone = await PhoneAsync(traderBrowser, subject);
        await Expect(phone.Locator(".notification", new() { HasText = words })).ToBeVisibleAsync();

        await system.NewMemberAsync(BrowserFixture.OfficerName, BrowserFixture.Officer);
        await using var operatorBrowser = await system.NewSessionAsync();
        var operations = await operatorBrowser.SignInAsync(BrowserFixture.OfficerName);
        await operations.GotoAsync(system.ExchangeUrl + "/operations?olderThanSeconds=0");
        await Expect(operations.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        var stuck = operations.Locator($"#stuck tbody tr[data-request-id='{id}']");
        await stuck.GetByLabel("Reason for acting on").FillAsync("Trader asked by phone to stop it");
        await stuck.GetByRole(AriaRole.Button, new() { Name = "Cancel and release" }).ClickAsync();
        var result = operations.Locator("#action-result");
        await Expect(result).ToContainTextAsync("Tap your implant to confirm");
        // Nothing happens before the operator's tap.
        await Expect(page.Locator("#current-status")).ToHaveAttributeAsync("data-status", "pending_approval");
        var asked = System.Text.RegularExpressions.Regex.Match((await result.TextContentAsync())!, "“(.+)”").Groups[1].Value;
        Assert.StartsWith("Operator: cancel withdrawal ", asked, StringComparison.Ordinal);

        await TapOnPhoneAsync(operatorBrowser, BrowserFixture.Officer, asked, "Tap your VivoKey", "Tapped: approved.");

        // The trader's page, never reloaded, shows it cancelled and the funds back.
        await Expect(page.Locator("#current-status")).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("2");

        // The operations page, opened again, shows the action executed and the request no longer stuck.
        await operations.BringToFrontAsync();
        await operations.ReloadAsync();
        await Expect(operations.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        var done = operations.Locator("#actions tbody tr", new() { HasText = $"withdrawal:{id}" });
        await Expect(done).ToHaveCountAsync(1);
        await Expect(done.Locator("td").Nth(5)).ToHaveTextAsync("executed");
        await Expect(operations.Locator($"#stuck tbody tr[data-request-id='{id}']")).ToHaveCountAsync(0);
        await BrowserSession.ScreenshotAsync(operations, "operations-executed");
    }

    [Fact]
    public async Task Sign_out_ends_the_session_on_the_server_for_every_copy_of_its_cookie()
    {
        var (_, name, _) = await system.NewMemberAsync("Margaret Hamilton");
        await using var browser = await system.NewSessionAsync();
        var page = await browser.SignInAsync(name);
        Assert.Equal(200, (await browser.Context.APIRequest.GetAsync(system.ExchangeUrl + "/api/me")).Status);
        var cookies = string.Join("; ", (await browser.Context.CookiesAsync([system.ExchangeUrl])).Select(c => $"{c.Name}={c.Value}"));
        Assert.Equal(HttpStatusCode.OK, await MeWithCookiesAsync(cookies));

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Log in with VivoKey" }).First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("signed-in-as")).ToHaveCountAsync(0);
        Assert.Equal(401, (await browser.Context.APIRequest.GetAsync(system.ExchangeUrl + "/api/me")).Status);
        // A copy of the cookie taken before sign-out opens nothing: the session ended on the server, not only in the browser.
        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithCookiesAsync(cookies));
    }

    private static async Task<IPage> SignedInWithFundsAsync(BrowserSession browser, string name, string amount)
    {
        var page = await browser.SignInAsync(name);
        await Expect(page.Locator("body[data-live=on]")).ToBeAttachedAsync();
        await page.GetByLabel("Amount (ETH)").FillAsync(amount);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add test funds" }).ClickAsync();
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync(amount);
        return page;
    }

    /// <summary>Asks for a withdrawal to a fresh address, until it waits for the tap; the words the phone will show.</summary>
    private static async Task<string> WithdrawAsync(IPage page, string amount)
    {
        var withdraw = page.Locator("#withdraw-form");
        await withdraw.GetByLabel("Amount").FillAsync(amount);
        await withdraw.GetByLabel("Destination address").FillAsync(ExchangeFixture.NewAddress());
        var message = page.Locator("#withdraw-message[data-ready=true]");
        await Expect(message).ToBeVisibleAsync();
        var words = (await message.TextContentAsync())!;
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "Withdraw, then tap your VivoKey" }).ClickAsync();
        await Expect(page.Locator("#current-status")).ToHaveAttributeAsync("data-status", "pending_approval");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync(amount);
        return words;
    }

    private async Task<IPage> PhoneAsync(BrowserSession browser, string subject)
    {
        var phone = await browser.Context.NewPageAsync();
        await phone.GotoAsync($"{system.SimulatorUrl}/phone?member={Uri.EscapeDataString(subject)}");
        return phone;
    }

    /// <summary>On the member's phone (a tab of their browser), the challenge with these words: tap or decline it.</summary>
    private async Task TapOnPhoneAsync(BrowserSession browser, string subject, string words, string button, string announced)
    {
        var phone = await PhoneAsync(browser, subject);
        var notification = phone.Locator(".notification", new() { HasText = words });
        await Expect(notification).ToBeVisibleAsync();
        await notification.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();
        await Expect(phone.Locator("#announce")).ToHaveTextAsync(announced);
        await phone.CloseAsync();
    }

    private async Task<HttpStatusCode> MeWithCookiesAsync(string cookies)
    {
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(system.ExchangeUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Add("Cookie", cookies);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
