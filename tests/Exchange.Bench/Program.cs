using System.Globalization;
using System.Text.Json;
using Exchange.Bench;

// `make bench`: the whole system under load, measured beside PostgreSQL's and anvil's own ceilings
// on the same machine in the same run. BENCH_SECONDS sets each intake level's length (default 5),
// BENCH_OUT the folder for bench.json and the charts (default bench-results).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var settings = BenchSettings.FromEnvironment();
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
