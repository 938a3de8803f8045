using System.Diagnostics;
using System.Text;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// The exchange as a real OS process (`dotnet Exchange.Api.dll`), configured through its environment
/// as an operator would, so a test can kill it with SIGKILL and start it again on the same database.
/// </summary>
public sealed class ExchangeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExchangeProcess(Process process)
    {
        _process = process;
    }

    /// <summary>SIGKILL's exit status as the runtime reports it: 128 + 9.</summary>
    public const int KilledExitCode = 137;

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

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

    /// <summary>The built host beside this test run's own configuration (Release under make test).</summary>
    public static string DllPath
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
            var root = Exchange.Testing.RepositoryRoot.Find() ?? throw new InvalidOperationException("Exchange.sln not found above " + AppContext.BaseDirectory);
            return Path.Combine(root, "src", "Exchange.Api", "bin", configuration, "net10.0", "Exchange.Api.dll");
        }
    }

    /// <summary>Starts the process; with <paramref name="arguments"/> it runs a command (reconcile, check-invariants) instead of serving.</summary>
    public static ExchangeProcess Start(IDictionary<string, string?> settings, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(DllPath)!,
        };
        start.ArgumentList.Add(DllPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // A test's process lives seconds to a minute, mostly waiting: it keeps the code the JIT first made instead of
        // compiling its hot methods again (instrumented, then optimised). That halves the CPU a start costs (about 7 s
        // instead of 11 s in its first half minute, measured), which a loaded 2-core machine running dozens of them
        // needs; what the code does is the same.
        start.Environment["DOTNET_TieredPGO"] = "0";
        start.Environment["DOTNET_TC_CallCounting"] = "0";
        // Idle Hangfire workers each poll the queue once a second; a test's process needs two per pool (new work starts
        // at commit through WorkDispatcher, not through this poll), so the dozens of processes a run starts poll four
        // times a second each, not sixteen. A test that needs more says so in its settings.
        start.Environment["Exchange__WorkerCount"] = "2";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = start };
        var started = new ExchangeProcess(process);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>
    /// Until /health/live answers; fails at once if the process has died. The deadline is generous: several processes
    /// starting at once on a loaded 2-core machine were seen to need more than 60 s; a healthy start returns in seconds.
    /// </summary>
    public async Task WaitUntilLiveAsync(string url, double seconds = 180)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The exchange exited ({_process.ExitCode}) before it was live:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url + "/health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await timer.WaitForNextTickAsync();
        }

        throw new TimeoutException($"The exchange was not live within {seconds} s:\n{Output}");
    }

    /// <summary>Asks the process to stop as an orchestrator does (SIGTERM), and waits for it to exit; returns its exit code.</summary>
    public async Task<int> StopAsync(double seconds = 60)
    {
        if (!_process.HasExited)
        {
            await TerminateAsync(_process);
        }

        return await WaitForExitAsync(seconds);
    }

    /// <summary>Sends SIGTERM, the signal an orchestrator stops a process with (.NET's Process can only SIGKILL).</summary>
    public static async Task TerminateAsync(Process process)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    /// <summary>Until the process exits, within the deadline; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(double seconds = 60)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The process did not exit within {seconds} s:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
