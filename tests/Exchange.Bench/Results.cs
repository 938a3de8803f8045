using System.Globalization;

namespace Exchange.Bench;

public sealed record BenchSettings(
    int IntakeSeconds, int[] Concurrency, int TapRate, int TapLowRate, int TapSeconds, int EndToEndCount, int EndToEndConcurrency,
    int AnvilCount, int[] ReconcilerPending, string OutputDirectory)
{
    public static BenchSettings FromEnvironment()
    {
        static int Number(string name, int fallback) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

        return new BenchSettings(
            IntakeSeconds: Number("BENCH_SECONDS", 5),
            Concurrency: [1, 8, 32, 128],
            TapRate: Number("BENCH_TAP_RATE", 100),
            TapLowRate: Number("BENCH_TAP_LOW_RATE", 20),
            TapSeconds: Number("BENCH_TAP_SECONDS", 10),
            EndToEndCount: Number("BENCH_E2E_COUNT", 2000),
            EndToEndConcurrency: 32,
            AnvilCount: Number("BENCH_ANVIL_COUNT", 3000),
            ReconcilerPending: [1_000, 10_000, 100_000],
            OutputDirectory: Environment.GetEnvironmentVariable("BENCH_OUT") is { Length: > 0 } output ? output : "bench-results");
    }
}

public sealed class BenchResults
{
    public string Machine { get; set; } = "";
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset FinishedAt { get; set; }
    public BenchSettings? Settings { get; set; }
    public List<IntakeLevel> Intake { get; } = [];
    public List<CeilingLevel> PgBench { get; } = [];
    public Latency? TapToBroadcast { get; set; }
    public double TapRateAchieved { get; set; }
    public List<double> TapToBroadcastSamplesMs { get; set; } = [];
    public Latency? TapToBroadcastLowRate { get; set; }
    public double TapLowRateAchieved { get; set; }
    public List<double> TapToBroadcastLowRateSamplesMs { get; set; } = [];
    public Throughput? EndToEnd { get; set; }
    public Throughput? AnvilCeiling { get; set; }
    public List<ReconcilerIdleLevel> ReconcilerIdle { get; } = [];
    public ReconcilerDue? ReconcilerDue { get; set; }
    public string? Invariants { get; set; }
    public Dictionary<string, int> NonSuccessAnswers { get; } = [];
    public Dictionary<string, string> Profiles { get; } = [];
    public List<string> Failures { get; } = [];

    public void CountAnswer(int status, string? body)
    {
        var key = $"{status}";
        lock (NonSuccessAnswers)
        {
            NonSuccessAnswers[key] = NonSuccessAnswers.GetValueOrDefault(key) + 1;
            if (NonSuccessAnswers[key] <= 3)
            {
                Console.WriteLine($"  non-2xx answer {status}: {body?[..Math.Min(300, body.Length)]}");
            }
        }
    }
}

public sealed record IntakeLevel(int Clients, int Accepted, int Refused, double Seconds, double HttpPerSecond, double AcceptedBySimulatorPerSecond, Latency RequestLatency);

public sealed record CeilingLevel(int Clients, double Tps, string Command);

public sealed record Latency(int Count, double P50, double P95, double P99, double Max)
{
    public static Latency Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return new Latency(0, 0, 0, 0, 0);
        }

        var sorted = samples.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Latency(sorted.Length, At(0.50), At(0.95), At(0.99), sorted[^1]);
    }
}

public sealed record Throughput(int Count, int Concurrency, double Seconds, double PerSecond);

public sealed record ReconcilerIdleLevel(int Pending, double MedianMs, double P95Ms, double MaxMs, string Plan);

public sealed record ReconcilerDue(int Due, double Seconds, double PerSecond, int Passes);

public static class MachineInfo
{
    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{Environment.ProcessorCount} cores ({cpu ?? "unknown CPU"}), {memory ?? "unknown memory"}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
