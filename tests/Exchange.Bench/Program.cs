using System.Globalization;
using System.Text.Json;
using Exchange.Bench;

// `make bench`: the whole system under load, measured beside PostgreSQL's and anvil's own ceilings
// on the same machine in the same run. BENCH_SECONDS sets each intake level's length (default 5),
// BENCH_OUT the folder for bench.json and the charts (default bench-results).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var settings = BenchSettings.FromEnvironment();
if (args is ["signing"])
{
    // The CPU cost of one EIP-1559 signature with the hot wallet, alone (part of the profile in docs/performance.md).
    var wallet = new Exchange.Api.Infrastructure.Chain.HotWallet(BenchSystem.HotWalletKey);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    for (var i = 0; i < 2000; i++)
    {
        wallet.Sign(new Exchange.Api.Infrastructure.Chain.TransferIntent(Trader.Destination, 1_000_000_000_000, i, 2_000_000_000, 1_000_000_000, 21_000, 31337));
    }

    Console.WriteLine($"{clock.Elapsed.TotalMilliseconds / 2000:F3} ms per signature");
    return 0;
}

Directory.CreateDirectory(settings.OutputDirectory);

var results = new BenchResults { Machine = MachineInfo.Describe(), StartedAt = DateTimeOffset.UtcNow, Settings = settings };
await using (var system = await BenchSystem.StartAsync())
{
    var phases = new Phases(system, settings, results);
    await phases.SignInTradersAsync();
    await phases.ReconcilerIdleAsync();
    await phases.IntakeAsync();
    await phases.PgBenchCeilingAsync();
    await phases.TapToBroadcastAsync();
    await phases.EndToEndAsync();
    await phases.AnvilCeilingAsync();
    await phases.ReconcilerDueAsync();
    await phases.CheckInvariantsAsync();
}

results.FinishedAt = DateTimeOffset.UtcNow;
var json = Path.Combine(settings.OutputDirectory, "bench.json");
await File.WriteAllTextAsync(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
Report.Print(results);
Console.WriteLine($"Results: {json}");
await Charts.DrawAsync(results, settings.OutputDirectory);
return results.Failures.Count == 0 ? 0 : 1;
