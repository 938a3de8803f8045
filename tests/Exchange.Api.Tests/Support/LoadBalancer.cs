using System.Diagnostics;
using System.Text.RegularExpressions;
using Exchange.Testing;

namespace Exchange.Api.Tests.Support;

/// <summary>One line of the load balancer's access log (docker/nginx/exchange.conf.template's format).</summary>
public sealed record AccessLogLine(string Method, string Path, int Status, string Upstream);

/// <summary>
/// nginx in front of two API instances, started by scripts/cluster-lb.sh: the configuration `make cluster`
/// and the compose setup use. Its access log (standard output) says which instance answered each request.
/// </summary>
public sealed partial class LoadBalancer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly DirectoryInfo _directory;

    private LoadBalancer(Process process, DirectoryInfo directory)
    {
        _process = process;
        _directory = directory;
    }

    public static async Task<LoadBalancer> StartAsync(string url, string api1Url, string api2Url)
    {
        var root = RepositoryRoot.Find() ?? throw new InvalidOperationException("Exchange.sln not found above " + AppContext.BaseDirectory);
        var directory = Directory.CreateTempSubdirectory("exchange-lb-");
        var start = new ProcessStartInfo(Path.Combine(root, "scripts", "cluster-lb.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { directory.FullName, HostPort(url), HostPort(api1Url), HostPort(api2Url) })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var balancer = new LoadBalancer(process, directory);
        process.OutputDataReceived += (_, e) => balancer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => balancer.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await balancer.WaitUntilListeningAsync(url);
        return balancer;
    }

    private static string HostPort(string url) => new Uri(url).Authority;

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>The requests answered so far, with the instance (host:port) that answered each.</summary>
    public IReadOnlyList<AccessLogLine> AccessLog()
    {
        lock (_output)
        {
            return _output.Select(l => AccessLine().Match(l)).Where(m => m.Success)
                .Select(m => new AccessLogLine(m.Groups["method"].Value, m.Groups["path"].Value, int.Parse(m.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["upstream"].Value))
                .ToList();
        }
    }

    private async Task WaitUntilListeningAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited ({_process.ExitCode}):\n{Output}");
            }

            try
            {
                // Any answer, even 502 from an instance not yet up, means nginx listens.
                using var response = await http.GetAsync(url + "/health/live");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await timer.WaitForNextTickAsync();
        }

        throw new TimeoutException($"nginx did not listen on {url} within 30 s:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        // TERM: nginx's master stops its workers too (a SIGKILL would leave them holding the port).
        if (!_process.HasExited)
        {
            await ExchangeProcess.TerminateAsync(_process);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex("\"(?<method>[A-Z]+) (?<path>\\S+) HTTP/[0-9.]+\" (?<status>\\d{3}) .* upstream=(?<upstream>\\S+)")]
    private static partial Regex AccessLine();
}
