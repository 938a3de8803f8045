using System.Net;
using System.Net.Http.Json;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.Playwright;

namespace Exchange.Api.Tests.Browser;

/// <summary>
/// The whole system, as for the other tests, plus headless Chromium driven by Playwright: Debian's
/// chromium (never a browser Playwright downloads), a fresh profile for each session. The simulator
/// does not AutoTap here: members sign in through its pages, as a person would.
/// </summary>
public sealed class BrowserFixture : ExchangeFixture
{
    public const string Officer = "vk-browser-officer";
    public const string OfficerName = "Carla Compliance";

    /// <summary>The flags the browser starts with (besides a fresh --user-data-dir, which Playwright passes).</summary>
    public static readonly string[] ChromiumFlags =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private IPlaywright? _playwright;

    /// <summary>CHROMIUM_BIN, else Debian's /usr/bin/chromium (scripts/prerequisites.sh installs it).</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("CHROMIUM_BIN") is { Length: > 0 } bin ? bin : "/usr/bin/chromium";

    /// <summary>Where the pages' screenshots go: EXCHANGE_SCREENSHOTS, else TestResults/screenshots in the checkout.</summary>
    public static string ScreenshotsDirectory =>
        Environment.GetEnvironmentVariable("EXCHANGE_SCREENSHOTS") is { Length: > 0 } dir
            ? dir
            : Path.Combine(RepositoryRoot.Find() ?? Directory.GetCurrentDirectory(), "TestResults", "screenshots");

    protected override void ConfigureSimulator(IDictionary<string, string?> simulator) => simulator["Simulator:AutoTap"] = "false";

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Roles:Compliance:0"] = Officer;
        exchange["Roles:Operators:1"] = Officer;
    }

    public async Task<IPlaywright> PlaywrightAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Chromium was not found at {ChromiumPath}. Run scripts/prerequisites.sh (it installs Debian's chromium).");
        }

        // The package's driver never fetches a browser: the tests name the executable.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Assertions.SetDefaultExpectTimeout(30_000);
        return _playwright ??= await Playwright.CreateAsync();
    }

    /// <summary>A new browser with a fresh profile (no cookies, no storage), closed and deleted on dispose.</summary>
    public async Task<BrowserSession> NewSessionAsync()
    {
        var playwright = await PlaywrightAsync();
        var profile = Directory.CreateTempSubdirectory("exchange-chromium-");
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.FullName, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumFlags,
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            AcceptDownloads = true,
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(30_000);
        return new BrowserSession(this, context, profile);
    }

    /// <summary>A VivoKey member the simulator knows (not yet an exchange member: that happens at their first sign-in).</summary>
    public async Task<(string Subject, string Name, string Email)> NewMemberAsync(string? name = null, string? subject = null)
    {
        subject ??= "vk-" + Guid.NewGuid().ToString("N")[..12];
        name ??= "Ada " + subject[3..9];
        var email = subject + "@example.test";
        using var created = await Simulator.PostAsJsonAsync("/simulator/members", new { subject, name, email });
        if (created.StatusCode != HttpStatusCode.Conflict)
        {
            created.EnsureSuccessStatusCode();
        }

        return (subject, name, email);
    }

    public override async Task DisposeAsync()
    {
        _playwright?.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>One browser (a persistent context on a fresh profile) and helpers for the pages it visits.</summary>
public sealed class BrowserSession(BrowserFixture system, IBrowserContext context, DirectoryInfo profile) : IAsyncDisposable
{
    public IBrowserContext Context { get; } = context;

    public IPage Page => Context.Pages.Count > 0 ? Context.Pages[0] : throw new InvalidOperationException("The browser has no page.");

    public async Task<IPage> FirstPageAsync() => Context.Pages.Count > 0 ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>Signs in from the exchange's own page, through the simulator's tap and consent pages (no AutoTap).</summary>
    public async Task<IPage> SignInAsync(string name, string returnPath = "/", string? screenshotPrefix = null)
    {
        var page = await FirstPageAsync();
        await page.GotoAsync(system.ExchangeUrl + returnPath);
        var login = page.GetByRole(AriaRole.Link, new() { Name = "Log in with VivoKey" }).First;
        await Assertions.Expect(login).ToBeVisibleAsync();
        if (screenshotPrefix is not null)
        {
            await ScreenshotAsync(page, $"{screenshotPrefix}-sign-in");
        }

        await login.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tap your VivoKey" })).ToBeVisibleAsync();
        if (screenshotPrefix is not null)
        {
            await ScreenshotAsync(page, $"{screenshotPrefix}-vivokey-tap");
        }

        await page.GetByRole(AriaRole.Button, new() { Name = $"Tap as {name}", Exact = true }).ClickAsync();
        var accept = page.GetByRole(AriaRole.Button, new() { Name = "Accept" });
        await Assertions.Expect(accept).ToBeVisibleAsync();
        if (screenshotPrefix is not null)
        {
            await ScreenshotAsync(page, $"{screenshotPrefix}-vivokey-consent");
        }

        await accept.ClickAsync();
        try
        {
            await page.WaitForURLAsync(url => url.StartsWith(system.ExchangeUrl + returnPath, StringComparison.Ordinal) && !url.Contains("signin-oidc", StringComparison.Ordinal));
        }
        catch (TimeoutException timeout)
        {
            // Where the sign-in ended instead (a sign-in error lands on /?signin_error=…), and what the exchange logged.
            var text = await page.Locator("body").InnerTextAsync(new() { Timeout = 5_000 });
            throw new TimeoutException($"Sign-in as {name} did not return to {returnPath}; the page is {page.Url}:\n{text[..Math.Min(text.Length, 800)]}\n" +
                $"exchange errors: {system.Errors.Recent}", timeout);
        }

        await Assertions.Expect(page.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToContainTextAsync(name);
        return page;
    }

    /// <summary>The whole page, or its top <paramref name="height"/> pixels; or what the window shows when not <paramref name="fullPage"/>.</summary>
    public static async Task ScreenshotAsync(IPage page, string name, bool fullPage = true, int? height = null)
    {
        Directory.CreateDirectory(BrowserFixture.ScreenshotsDirectory);
        var options = new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotsDirectory, name + ".png"), FullPage = fullPage };
        if (height is { } h)
        {
            options.Clip = new Clip { X = 0, Y = 0, Width = page.ViewportSize?.Width ?? 1280, Height = h };
        }

        await page.ScreenshotAsync(options);
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        try
        {
            profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be letting go of a file; the temporary folder is cleaned up with the rest.
        }
    }
}
