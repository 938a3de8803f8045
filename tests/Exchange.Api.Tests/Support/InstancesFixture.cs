using Exchange.Testing;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Up to three exchange processes on one database and one anvil, each on an address of its own that
/// VivoKey knows (its sign-in redirect and callback URL), all running jobs. The tests start them.
/// </summary>
public abstract class InstancesFixture : ExchangeFixture
{
    private readonly string[] _urls = [$"http://127.0.0.1:{FreePort.Next()}", $"http://127.0.0.1:{FreePort.Next()}"];

    protected override bool StartsExchangeInProcess => false;

    public string Url(int instance) => instance == 0 ? ExchangeUrl : _urls[instance - 1];

    protected override void ConfigureSimulator(IDictionary<string, string?> simulator)
    {
        for (var i = 1; i <= _urls.Length; i++)
        {
            simulator[$"Simulator:Clients:0:RedirectUris:{i}"] = _urls[i - 1] + "/signin-oidc";
            simulator[$"Simulator:Clients:0:CallbackUrls:{i}"] = _urls[i - 1] + "/vivokey/callback";
        }
    }

    /// <summary>The settings of instance 0, 1 or 2: its own address and callback URL.</summary>
    public Dictionary<string, string?> Settings(int instance)
    {
        var settings = ExchangeSettings();
        settings["Urls"] = Url(instance);
        settings["VivoKey:CallbackUrl"] = Url(instance) + "/vivokey/callback";
        return settings;
    }
}
