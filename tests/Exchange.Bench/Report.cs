using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Exchange.Bench;

/// <summary>The terminal table, with each target beside what was measured.</summary>
public static class Report
{
    public static void Print(BenchResults r)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine($"Exchange bench, {r.StartedAt:yyyy-MM-dd HH:mm} UTC, on {r.Machine}");
        text.AppendLine();
        text.AppendLine("1. Intake (withdrawal requests until VivoKey accepted the challenge) beside 5. pgbench on the same statements");
        text.AppendLine("   clients   intake/s   HTTP 202/s   p50 ms   p99 ms   pgbench/s   intake/ceiling");
        foreach (var level in r.Intake)
        {
            var ceiling = r.PgBench.FirstOrDefault(c => c.Clients == level.Clients);
            var ratio = ceiling is { Tps: > 0 } ? $"{100 * level.AcceptedBySimulatorPerSecond / ceiling.Tps,6:F1} %" : "     –";
            text.AppendLine($"   {level.Clients,7}   {level.AcceptedBySimulatorPerSecond,8:F0}   {level.HttpPerSecond,10:F0}   {level.RequestLatency.P50,6:F1}   {level.RequestLatency.P99,6:F1}   {ceiling?.Tps,9:F0}   {ratio}");
        }

        var best = r.Intake.OrderByDescending(l => l.AcceptedBySimulatorPerSecond).FirstOrDefault();
        var bestCeiling = r.PgBench.OrderByDescending(c => c.Tps).FirstOrDefault();
        if (best is not null && bestCeiling is { Tps: > 0 })
        {
            text.AppendLine($"   best intake {best.AcceptedBySimulatorPerSecond:F0}/s ({best.Clients} clients) / best ceiling {bestCeiling.Tps:F0}/s ({bestCeiling.Clients} clients) = {100 * best.AcceptedBySimulatorPerSecond / bestCeiling.Tps:F1} %   target ≥ 50 %");
        }

        text.AppendLine();
        if (r.TapToBroadcastLowRate is { } low)
        {
            text.AppendLine($"2. Tap to broadcast at {r.TapLowRateAchieved:F0} taps/s ({low.Count} taps): p50 {low.P50:F1} ms, p95 {low.P95:F1} ms, p99 {low.P99:F1} ms, max {low.Max:F1} ms");
        }

        if (r.TapToBroadcast is { } tap)
        {
            text.AppendLine($"   Tap to broadcast at {r.TapRateAchieved:F0} taps/s ({tap.Count} taps): p50 {tap.P50:F1} ms, p95 {tap.P95:F1} ms, p99 {tap.P99:F1} ms, max {tap.Max:F1} ms   target p99 ≤ 50 ms");
        }

        if (r.EndToEnd is { } e2e && r.AnvilCeiling is { } anvil)
        {
            text.AppendLine($"3. End to end (request → confirmed): {e2e.PerSecond:F0}/s ({e2e.Count} from {e2e.Concurrency} clients in {e2e.Seconds:F1} s); anvil's own ceiling {anvil.PerSecond:F0}/s ({anvil.Count} pre-signed); ratio {100 * e2e.PerSecond / anvil.PerSecond:F1} %   target ≥ 50 %");
        }

        text.AppendLine("4. Reconciler pass with nothing due          target: flat from 1,000 to 100,000");
        foreach (var level in r.ReconcilerIdle)
        {
            text.AppendLine($"   {level.Pending,7} pending: median {level.MedianMs,6:F2} ms, p95 {level.P95Ms,6:F2} ms");
        }

        if (r.ReconcilerIdle.LastOrDefault() is { } largest)
        {
            text.AppendLine($"   plans at {largest.Pending}: {largest.Plan}");
        }

        if (r.ReconcilerDue is { } due)
        {
            text.AppendLine($"   ending due challenges: {due.Due} in {due.Seconds:F2} s = {due.PerSecond:F0}/s ({due.Passes} passes)   target ≥ 2,000/s");
        }

        text.AppendLine();
        var failures = r.NonSuccessAnswers.Sum(a => a.Value);
        text.AppendLine(failures == 0
            ? "Non-2xx answers under load: 0"
            : $"Non-2xx answers under load: {failures} ({string.Join(", ", r.NonSuccessAnswers.Select(a => $"{a.Key}: {a.Value}"))})");
        text.AppendLine($"Invariants after the run: {(r.Invariants?.Contains("BROKEN", StringComparison.OrdinalIgnoreCase) == true ? "BROKEN" : "checked, see above")}");
        foreach (var failure in r.Failures)
        {
            text.AppendLine("FAILED: " + failure);
        }

        Console.Write(text.ToString());
    }
}

/// <summary>PNG charts for docs/performance.md, drawn by gnuplot when it is installed (scripts/bench.sh installs it).</summary>
public static class Charts
{
    private static Task WriteCumulativeAsync(string path, List<double> values)
    {
        var samples = values.Where(v => v > 0).Order().ToList();
        return File.WriteAllLinesAsync(path, samples.Select((ms, i) => string.Create(CultureInfo.InvariantCulture, $"{ms} {100.0 * (i + 1) / samples.Count}")));
    }

    public static async Task DrawAsync(BenchResults r, string directory)
    {
        await WriteCumulativeAsync(Path.Combine(directory, "tap-to-broadcast.dat"), r.TapToBroadcastSamplesMs);
        await WriteCumulativeAsync(Path.Combine(directory, "tap-to-broadcast-low.dat"), r.TapToBroadcastLowRateSamplesMs);
        await File.WriteAllLinesAsync(Path.Combine(directory, "intake.dat"),
            r.Intake.Select(level => string.Create(CultureInfo.InvariantCulture,
                $"{level.Clients} {level.AcceptedBySimulatorPerSecond} {r.PgBench.FirstOrDefault(c => c.Clients == level.Clients)?.Tps ?? 0}")));
        var p99 = r.TapToBroadcast?.P99 ?? 0;
        var script = string.Create(CultureInfo.InvariantCulture, $$"""
            set terminal pngcairo size 900,500 font ",11"
            set output 'tap-to-broadcast.png'
            set title "Tap to broadcast: the share of taps whose transaction anvil had within x ms"
            set xlabel "milliseconds from VivoKey's success callback to anvil having the transaction"
            set ylabel "% of taps"
            set grid
            set logscale x
            set key bottom right
            set yrange [0:100]
            set arrow from 50, graph 0 to 50, graph 1 nohead dashtype 2 lc rgb "red"
            set label "target p99 ≤ 50 ms" at 51, graph 0.1 tc rgb "red"
            plot 'tap-to-broadcast-low.dat' using 1:2 with lines lw 2 title "{{r.TapLowRateAchieved:F0}} taps/s (p99 {{r.TapToBroadcastLowRate?.P99 ?? 0:F1}} ms)", 'tap-to-broadcast.dat' using 1:2 with lines lw 2 title "{{r.TapRateAchieved:F0}} taps/s (p99 {{p99:F1}} ms)"
            set output 'intake.png'
            unset arrow
            unset label
            unset logscale x
            set key top right
            set title "Withdrawal intake per second against PostgreSQL's own ceiling (pgbench, same statements)"
            set xlabel "concurrent clients"
            set ylabel "per second"
            set yrange [0:*]
            set style data histograms
            set style histogram clustered gap 1
            set style fill solid 0.8 border -1
            set boxwidth 0.9
            plot 'intake.dat' using 2:xtic(1) title "exchange intake (HTTP → VivoKey accepted)", '' using 3 title "pgbench ceiling"
            """);
        await File.WriteAllTextAsync(Path.Combine(directory, "charts.gnuplot"), script);
        try
        {
            using var gnuplot = Process.Start(new ProcessStartInfo("gnuplot", "charts.gnuplot") { WorkingDirectory = directory, UseShellExecute = false })
                ?? throw new InvalidOperationException("gnuplot did not start");
            await gnuplot.WaitForExitAsync();
            Console.WriteLine(gnuplot.ExitCode == 0
                ? $"Charts: {Path.Combine(directory, "tap-to-broadcast.png")}, {Path.Combine(directory, "intake.png")}"
                : "gnuplot failed; the data and script are in " + directory);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"gnuplot is not installed: no charts drawn (data and script in {directory}).");
        }
    }
}
