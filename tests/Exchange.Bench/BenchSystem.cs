using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Exchange.Testing;
using Npgsql;

namespace Exchange.Bench;

/// <summary>
/// The whole system, started for one bench run the way `make run` starts it: a PostgreSQL cluster of
/// its own (durable: fsync and synchronous commit on), anvil mining a block every second, the VivoKey
/// simulator and the exchange as separate processes, and between the exchange and anvil a timing proxy
/// that notes when anvil took each transaction.
/// </summary>
public sealed class BenchSystem : IAsyncDisposable
{
    public const string ClientId = "exchange-bench";
    public const string ClientSecret = "dev-only-bench-secret";
    public const string AppRole = "exchange_app";

    /// <summary>anvil's well-known development account #0: the hot wallet (a development key, never a real one).</summary>
    public const string HotWalletKey = "0xac0974bec39a17e36ba4a91cd69d5f8ad45e5ca8163d03c6ab4fe6b0d7a5f6c4";

    /// <summary>anvil's well-known development account #9: sends the pre-signed transfers of anvil's own ceiling.</summary>
    public const string AnvilCeilingKey = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

    private readonly List<BenchProcess> _processes = [];

    private BenchSystem(PostgresServer postgres, AnvilNode anvil, RpcTimingProxy proxy)
    {
        Postgres = postgres;
        Anvil = anvil;
        Proxy = proxy;
    }

    public PostgresServer Postgres { get; }
    public AnvilNode Anvil { get; }
    public RpcTimingProxy Proxy { get; }
    public string OwnerConnectionString { get; private set; } = "";
    public string AppConnectionString { get; private set; } = "";
    public string SimulatorUrl { get; private set; } = "";
    public string ExchangeUrl { get; private set; } = "";
    public HttpClient Simulator { get; private set; } = null!;

    public static async Task<BenchSystem> StartAsync()
    {
        Console.WriteLine("Starting PostgreSQL (durable settings), anvil (1 s blocks), the simulator and the exchange...");
        var postgres = await PostgresServer.StartAsync(durable: true);
        var anvil = await AnvilNode.StartAsync(blockTimeSeconds: 1);
        // The hot wallet, and account #9 that sends anvil's own ceiling run, each get 1,000,000 ETH of the dev chain.
        foreach (var key in new[] { HotWalletKey, AnvilCeilingKey })
        {
            await anvil.SetBalanceAsync(new Nethereum.Signer.EthECKey(key).GetPublicAddress(), System.Numerics.BigInteger.Pow(10, 24));
        }

        var proxy = await RpcTimingProxy.StartAsync(anvil.RpcUrl);
        var system = new BenchSystem(postgres, anvil, proxy);
        try
        {
            await system.StartProcessesAsync();
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync()
    {
        OwnerConnectionString = new NpgsqlConnectionStringBuilder(await Postgres.CreateDatabaseAsync("exchange")) { MaxPoolSize = 200 }.ConnectionString;
        AppConnectionString = new NpgsqlConnectionStringBuilder(OwnerConnectionString) { Username = AppRole, MaxPoolSize = 100 }.ConnectionString;
        SimulatorUrl = $"http://127.0.0.1:{FreePort.Next()}";
        ExchangeUrl = $"http://127.0.0.1:{FreePort.Next()}";

        var simulator = BenchProcess.Start("VivoKey.Simulator", new Dictionary<string, string>
        {
            ["Urls"] = SimulatorUrl,
            ["Simulator__PublicUrl"] = SimulatorUrl,
            ["Simulator__AutoTap"] = "true",
            ["Simulator__Members__0__Subject"] = "vk-bench-0",
            ["Simulator__Members__0__Name"] = "Bench Trader",
            ["Simulator__Members__0__Email"] = "bench-0@example.test",
            ["Simulator__Clients__0__ClientId"] = ClientId,
            ["Simulator__Clients__0__ClientSecret"] = ClientSecret,
            ["Simulator__Clients__0__DisplayName"] = "Exchange under load",
            ["Simulator__Clients__0__RedirectUris__0"] = ExchangeUrl + "/signin-oidc",
            ["Simulator__Clients__0__CallbackUrls__0"] = ExchangeUrl + "/vivokey/callback",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        _processes.Add(simulator);
        await simulator.WaitUntilAnsweringAsync(SimulatorUrl + "/health");

        var exchange = BenchProcess.Start("Exchange.Api", new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Urls"] = ExchangeUrl,
            ["ConnectionStrings__Exchange"] = AppConnectionString,
            ["ConnectionStrings__ExchangeOwner"] = OwnerConnectionString,
            ["VivoKey__Authority"] = SimulatorUrl + "/openid",
            ["VivoKey__ValidationEndpoint"] = SimulatorUrl + "/v1.0/validate/",
            ["VivoKey__CallbackUrl"] = ExchangeUrl + "/vivokey/callback",
            ["VivoKey__ClientId"] = ClientId,
            ["VivoKey__ClientSecret"] = ClientSecret,
            // Long enough that nothing of the run expires on its own: the reconciler's bench makes its own due challenges.
            ["VivoKey__ChallengeTimeoutSeconds"] = "3600",
            ["Ethereum__RpcUrl"] = Proxy.Url,
            ["Ethereum__ChainId"] = Anvil.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Ethereum__Confirmations"] = "1",
            ["Ethereum__HotWalletPrivateKey"] = HotWalletKey,
            // The bench runs the reconciler's passes itself, so a scheduled pass never overlaps a measured one.
            ["Reconciler__Cron"] = "0 0 1 1 *",
            // The bench is the scripted flood the limits stop: it measures the exchange, not them.
            ["RateLimits__MoneyPerMemberPerMinute"] = "0",
            ["RateLimits__PreviewsPerMemberPerMinute"] = "0",
            ["RateLimits__MoneyPerAddressPerMinute"] = "0",
            ["RateLimits__SignInPerAddressPerMinute"] = "0",
            ["Exchange__MaxPendingPerMember"] = "1000000",
            ["Exchange__MinimumWithdrawal__ETH"] = "0.000000000000000001",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        _processes.Add(exchange);
        await exchange.WaitUntilAnsweringAsync(ExchangeUrl + "/health/live");
        Simulator = new HttpClient { BaseAddress = new Uri(SimulatorUrl), Timeout = TimeSpan.FromSeconds(60) };
        Console.WriteLine($"  exchange {ExchangeUrl}, simulator {SimulatorUrl}, anvil {Anvil.RpcUrl} (through {Proxy.Url})");
    }

    public async Task SetAutoTapAsync(bool on)
    {
        using var response = await Simulator.PutAsJsonAsync("/simulator/auto-tap", new { challenges = on });
        response.EnsureSuccessStatusCode();
    }

    public async Task<NpgsqlConnection> OpenOwnerAsync()
    {
        var connection = new NpgsqlConnection(OwnerConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenOwnerAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenOwnerAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Simulator?.Dispose();
        var logs = Environment.GetEnvironmentVariable("BENCH_OUT") is { Length: > 0 } output ? output : "bench-results";
        Directory.CreateDirectory(logs);
        foreach (var process in _processes)
        {
            process.Dispose();
            await File.WriteAllTextAsync(Path.Combine(logs, process.Name + ".log"), process.Output);
        }

        await Proxy.DisposeAsync();
        await Anvil.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

/// <summary>A built host of this checkout run as its own OS process, its output kept for when it fails.</summary>
public sealed class BenchProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BenchProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public static BenchProcess Start(string project, IDictionary<string, string> environment)
    {
        var root = RepositoryRoot.Find() ?? throw new InvalidOperationException("Exchange.sln not found above " + AppContext.BaseDirectory);
        var configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(root, "src", project, "bin", configuration, "net10.0", project + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is not built; run `make build` first.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--contentRoot");
        start.ArgumentList.Add(Path.Combine(root, "src", project));
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var started = new BenchProcess(process, project);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async Task WaitUntilAnsweringAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{url} exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{url} did not answer within 90 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 200_000)
            {
                _output.AppendLine(line);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
