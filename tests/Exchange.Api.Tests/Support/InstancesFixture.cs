using Exchange.Testing;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Up to three exchange processes on one database and one anvil, each on an address of its own that
/// VivoKey knows (its sign-in redirect and callback URL), all running jobs. The tests start them.
/// </summary>
public abstract class InstancesFixture : ExchangeFixture
{
    private readonly string[] _urls = [$"http://127.0.0.1:{FreePort.Next()}", $"http://127.0.0.1:{FreePort.Next()}"];
    private readonly string[] _managementUrls = [$"http://127.0.0.1:{FreePort.Next()}", $"http://127.0.0.1:{FreePort.Next()}", $"http://127.0.0.1:{FreePort.Next()}"];

    protected override bool StartsExchangeInProcess => false;

    public string Url(int instance) => instance == 0 ? ExchangeUrl : _urls[instance - 1];

    /// <summary>Instance 0, 1 or 2's management port: where Prometheus scrapes it and the detailed readiness answers.</summary>
    public string ManagementUrlOf(int instance) => _managementUrls[instance];

    protected override void ConfigureSimulator(IDictionary<string, string?> simulator)
    {
        for (var i = 1; i <= _urls.Length; i++)
        {
            simulator[$"Simulator:Clients:0:RedirectUris:{i}"] = _urls[i - 1] + "/signin-oidc";
            simulator[$"Simulator:Clients:0:CallbackUrls:{i}"] = _urls[i - 1] + "/vivokey/callback";
        }
    }

    /// <summary>
    /// Instance 0 API-only in front, instance 1 worker-only behind it; the worker names instance 0 as where VivoKey
    /// calls back, as a load balancer's address would be.
    /// </summary>
    public (Dictionary<string, string?> Api, Dictionary<string, string?> Worker) ApiAndWorkerSettings()
    {
        var api = Settings(0);
        api["Exchange:RunJobs"] = "false";
        var worker = Settings(1);
        worker["Exchange:ServeApi"] = "false";
        worker["Exchange:MigrateOnStartup"] = "false";
        worker["VivoKey:CallbackUrl"] = Url(0) + "/vivokey/callback";
        return (api, worker);
    }

    /// <summary>The settings of instance 0, 1 or 2: its own address, management port and callback URL.</summary>
    public Dictionary<string, string?> Settings(int instance)
    {
        var settings = ExchangeSettings();
        settings["Urls"] = Url(instance);
        settings["Exchange:ManagementUrls"] = ManagementUrlOf(instance);
        settings["VivoKey:CallbackUrl"] = Url(instance) + "/vivokey/callback";
        return settings;
    }
}
