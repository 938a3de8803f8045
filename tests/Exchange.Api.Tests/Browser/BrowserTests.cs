using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Exchange.Api.Tests.Browser;

/// <summary>
/// The pages people use, in headless Chromium: a trader signs in through VivoKey's pages, withdraws
/// and watches the request reach confirmed by itself while tapping on the phone page; refused input
/// shows beside its field; compliance searches the audit trail and downloads it. Each page is
/// photographed into the screenshots folder.
/// </summary>
[Trait("Category", "Browser")]
public sealed class BrowserTests(BrowserFixture system) : IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan ChainTime = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_trader_signs_in_withdraws_taps_on_the_phone_and_sees_confirmed_without_reloading()
    {
        var (subject, name, _) = await system.NewMemberAsync("Ada Lovelace");
        await using var browser = await system.NewSessionAsync();
        var page = await browser.SignInAsync(name, "/", screenshotPrefix: "trader");
        await Expect(page.Locator("body[data-live=on]")).ToBeAttachedAsync();
        Assert.Empty(await UnlabelledFieldsAsync(page));

        await page.GetByLabel("Amount (ETH)").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add test funds" }).ClickAsync();
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("10");

        // The phone, in a second tab, open before anything is asked of it: the challenge must arrive by itself.
        var phone = await browser.Context.NewPageAsync();
        await phone.GotoAsync($"{system.SimulatorUrl}/phone?member={Uri.EscapeDataString(subject)}");
        await Expect(phone.Locator("#empty")).ToBeVisibleAsync();
        await page.BringToFrontAsync();

        var destination = ExchangeFixture.NewAddress();
        var withdraw = page.Locator("#withdraw-form");
        await withdraw.GetByLabel("Amount").FillAsync("1.25");
        await withdraw.GetByLabel("Destination address").FillAsync(destination);
        var expected = $"Withdraw 1.25 ETH to {destination[..20]}…{destination[^18..]}";
        await Expect(page.Locator("#withdraw-message")).ToHaveTextAsync(expected);
        await BrowserSession.ScreenshotAsync(page, "trader-withdraw-preview");

        await withdraw.GetByRole(AriaRole.Button, new() { Name = "Withdraw, then tap your VivoKey" }).ClickAsync();
        var status = page.Locator("#current-status");
        await Expect(status).ToHaveAttributeAsync("data-status", "pending_approval");
        await Expect(status).ToHaveTextAsync("Waiting for your tap");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("1.25");
        await BrowserSession.ScreenshotAsync(page, "trader-waiting-for-tap");

        // On the phone, never reloaded: the challenge arrives with the words the preview showed.
        await phone.BringToFrontAsync();
        var notification = phone.Locator(".notification", new() { HasText = expected });
        await Expect(notification).ToBeVisibleAsync();
        await Expect(phone.Locator("#announce")).ToHaveTextAsync("New challenge: tap to approve.");
        await BrowserSession.ScreenshotAsync(phone, "phone-notification");
        await notification.GetByRole(AriaRole.Button, new() { Name = "Tap your VivoKey" }).ClickAsync();
        await Expect(phone.Locator("#announce")).ToHaveTextAsync("Tapped: approved.");

        // The first page was never reloaded: the status arrives over Server-Sent Events.
        await page.BringToFrontAsync();
        await Expect(status).ToHaveAttributeAsync("data-status", "confirmed", new() { Timeout = (float)ChainTime.TotalMilliseconds });
        await Expect(status).ToHaveTextAsync("Confirmed");
        var row = page.Locator("#history tbody tr").First;
        await Expect(row.GetByTestId("tx-hash")).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex("^0x[0-9a-f]{64}$"));
        await Expect(row.GetByTestId("confirmations")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("8.75");
        Assert.Equal(page.Url, system.ExchangeUrl + "/");
        await BrowserSession.ScreenshotAsync(page, "trader-confirmed");
    }

    [Fact]
    public async Task A_refused_withdrawal_shows_each_message_beside_its_field_and_changes_nothing()
    {
        var (_, name, _) = await system.NewMemberAsync("Grace Hopper");
        await using var browser = await system.NewSessionAsync();
        var page = await browser.SignInAsync(name);
        await page.GetByLabel("Amount (ETH)").FillAsync("5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add test funds" }).ClickAsync();
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("5");

        var withdraw = page.Locator("#withdraw-form");
        await withdraw.GetByLabel("Amount").FillAsync("1.0000000000000000001");
        await withdraw.GetByLabel("Destination address").FillAsync(BreakChecksum());
        // From the keyboard: Enter in the last field submits the form.
        await withdraw.GetByLabel("Destination address").PressAsync("Enter");

        await Expect(page.Locator("#withdraw-amount-error")).ToContainTextAsync("decimals");
        await Expect(page.Locator("#withdraw-address-error")).ToContainTextAsync("checksum");
        await Expect(withdraw.GetByLabel("Amount")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(withdraw.GetByLabel("Destination address")).ToHaveAttributeAsync("aria-invalid", "true");
        // The messages are tied to their fields for screen readers, and focus goes to the first field in error.
        await Expect(withdraw.GetByLabel("Amount")).ToHaveAttributeAsync("aria-describedby", "withdraw-amount-error");
        await Expect(withdraw.GetByLabel("Amount")).ToBeFocusedAsync();
        await BrowserSession.ScreenshotAsync(page, "trader-refused-withdrawal");

        // Nothing was held or created.
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("5");
        await Expect(page.Locator("#history-empty")).ToBeVisibleAsync();
        var mine = await browser.Context.APIRequest.GetAsync(system.ExchangeUrl + "/api/withdrawals");
        Assert.Equal(0, JsonNode.Parse(await mine.TextAsync())!["total"]!.GetValue<int>());

        // Correcting a field clears its message.
        await withdraw.GetByLabel("Amount").FillAsync("1");
        await Expect(page.Locator("#withdraw-amount-error")).ToBeEmptyAsync();

        // A transfer to oneself: the message sits beside the receiver.
        var transfer = page.Locator("#transfer-form");
        await transfer.GetByLabel("Amount").FillAsync("1");
        var handle = await page.GetByTestId("my-handle").TextContentAsync();
        Assert.Matches("^EX-[0-9A-Z]{4}-[0-9A-Z]{4}$", handle);
        await transfer.GetByLabel("Receiver's account handle").FillAsync(handle!);
        await transfer.GetByRole(AriaRole.Button, new() { Name = "Transfer, then tap your VivoKey" }).ClickAsync();
        await Expect(page.Locator("#transfer-to-error")).ToContainTextAsync("another member");
        await Expect(page.GetByTestId("held-ETH")).ToHaveTextAsync("0");
    }

    [Fact]
    public async Task Compliance_searches_the_audit_trail_sees_it_verify_and_downloads_the_csv()
    {
        await system.NewMemberAsync(BrowserFixture.OfficerName, BrowserFixture.Officer);
        await using var browser = await system.NewSessionAsync();
        var page = await browser.SignInAsync(BrowserFixture.OfficerName);
        // The officer trades too: a withdrawal left waiting for its tap, for the trail and the operator's list.
        await page.GetByLabel("Amount (ETH)").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add test funds" }).ClickAsync();
        await Expect(page.GetByTestId("available-ETH")).ToHaveTextAsync("3");
        var withdraw = page.Locator("#withdraw-form");
        await withdraw.GetByLabel("Amount").FillAsync("0.5");
        await withdraw.GetByLabel("Destination address").FillAsync(ExchangeFixture.NewAddress());
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "Withdraw, then tap your VivoKey" }).ClickAsync();
        await Expect(page.Locator("#current-status")).ToHaveAttributeAsync("data-status", "pending_approval");

        await page.GetByRole(AriaRole.Link, new() { Name = "Compliance" }).ClickAsync();
        await Expect(page.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        await Expect(page.Locator("#verify-badge")).ToHaveAttributeAsync("data-ok", "true");
        await Expect(page.Locator("#verify-badge")).ToContainTextAsync("Verified");
        await Expect(page.Locator("#events tbody tr", new() { HasText = "withdrawal.requested" }).First).ToBeVisibleAsync();
        Assert.Empty(await UnlabelledFieldsAsync(page));
        await BrowserSession.ScreenshotAsync(page, "compliance-audit", height: 1400);

        // Opening the pages signed out (every session here began so) is not an access refusal.
        await page.GetByLabel("Action").FillAsync("access.denied");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.Locator("#results-count")).ToHaveTextAsync("0 events found.");

        await page.GetByLabel("Action").FillAsync("member.signed_in");
        await page.GetByLabel("Actor").FillAsync($"member:{BrowserFixture.Officer}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.Locator("#results-count")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]* events? found\\.$"));
        var rows = page.Locator("#events tbody tr");
        await Expect(rows.First).ToContainTextAsync("member.signed_in");
        foreach (var action in await rows.Locator("td:nth-child(4)").AllTextContentsAsync())
        {
            Assert.Equal("member.signed_in", action);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Verify now" }).ClickAsync();
        await Expect(page.Locator("#verify-detail")).ToContainTextAsync("Last verification");
        await BrowserSession.ScreenshotAsync(page, "compliance-search");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Export CSV" }).ClickAsync());
        Assert.Equal("audit.csv", download.SuggestedFilename);
        var saved = Path.Combine(Path.GetTempPath(), $"audit-{Guid.NewGuid():N}.csv");
        await download.SaveAsAsync(saved);
        var lines = await File.ReadAllLinesAsync(saved);
        File.Delete(saved);
        Assert.Equal("seq,at,actor,action,subject,data,chain_seq,hash", lines[0]);
        Assert.True(lines.Length > 1, "the export has no events");
        Assert.All(lines.Skip(1), line => Assert.Contains($"\"member:{BrowserFixture.Officer}\",\"member.signed_in\"", line, StringComparison.Ordinal));

        // The officer is an operator too here: the operations page and the API reference, for the pictures and a look.
        await page.GotoAsync(system.ExchangeUrl + "/operations?olderThanSeconds=0");
        await Expect(page.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Open the job dashboard (Hangfire)" })).ToHaveAttributeAsync("href", "/hangfire");
        var stuck = page.Locator("#stuck tbody tr", new() { Has = page.Locator("[data-status=pending_approval]") });
        await Expect(stuck).ToHaveCountAsync(1);
        await stuck.GetByLabel("Reason for acting on").FillAsync("Trader asked by phone to stop it");
        await stuck.GetByRole(AriaRole.Button, new() { Name = "Cancel and release" }).ClickAsync();
        await Expect(page.Locator("#action-result")).ToContainTextAsync("Tap your implant to confirm");
        await Expect(page.Locator("#actions tbody tr", new() { HasText = "awaiting_tap" })).ToBeVisibleAsync();
        await BrowserSession.ScreenshotAsync(page, "operations");

        await page.GetByRole(AriaRole.Link, new() { Name = "API", Exact = true }).ClickAsync();
        await Expect(page.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        var request = page.Locator("details.op")
            .Filter(new() { Has = page.Locator(".path", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^/api/withdrawals$") }) })
            .Filter(new() { Has = page.Locator(".method.post") });
        await request.Locator("summary").ClickAsync();
        await Expect(request).ToContainTextAsync("0x71C7656EC7ab88b098defB751B7401B5f6d8976F");
        var callback = page.Locator("details.op", new() { HasText = "/vivokey/callback" });
        await callback.Locator("summary").ClickAsync();
        await Expect(callback).ToContainTextAsync("token-expired");
        await request.EvaluateAsync("e => e.scrollIntoView({ block: 'start' })");
        await BrowserSession.ScreenshotAsync(page, "api-reference", fullPage: false);
    }

    /// <summary>Inputs and selects a screen reader could not name: no label, no aria-label.</summary>
    private static Task<string[]> UnlabelledFieldsAsync(IPage page) => page.EvaluateAsync<string[]>(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]" +
        ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map(e => e.id || e.name)");

    /// <summary>A mixed-case address that fails EIP-55: one letter's case swapped in an address with at least two letters.</summary>
    private static string BreakChecksum()
    {
        var checksummed = ExchangeFixture.NewAddress();
        while (checksummed[2..].Count(char.IsLetter) < 2)
        {
            checksummed = ExchangeFixture.NewAddress();
        }

        var chars = checksummed.ToCharArray();
        var i = Array.FindIndex(chars, 2, char.IsLetter);
        chars[i] = char.IsUpper(chars[i]) ? char.ToLowerInvariant(chars[i]) : char.ToUpperInvariant(chars[i]);
        return new string(chars);
    }
}
