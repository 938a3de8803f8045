using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Exchange.Testing;

/// <summary>
/// A real anvil (local Ethereum node) process on a free loopback port, chain id 31337, with a few
/// JSON-RPC calls tests need to arrange and check the chain. The process is killed, with its
/// children, on dispose and when the test process exits.
/// </summary>
public sealed class AnvilNode : IAsyncDisposable
{
    public const int DefaultChainId = 31337;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly Lazy<Task<AnvilNode>> SharedNode = new(() => StartAsync());

    private readonly Process _process;
    private readonly CleanupOnDeath _cleanupOnDeath;
    private readonly OutputTail _output;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly EventHandler _onProcessExit;
    private long _nextRequestId;
    private int _disposed;

    private AnvilNode(Process process, OutputTail output, int port)
    {
        _process = process;
        _output = output;
        // anvil runs as the leader of a process group of its own (see Launch): kill the group.
        _cleanupOnDeath = CleanupOnDeath.Start($"kill -KILL -{process.Id}");
        RpcUrl = $"http://127.0.0.1:{port}";
        _onProcessExit = (_, _) => Stop();
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
    }

    /// <summary>One node for the whole test process (interval mining, 1 s blocks), started on first use.</summary>
    public static Task<AnvilNode> Shared => SharedNode.Value;

    public string RpcUrl { get; }

    /// <summary>The chain id the node reported when it started.</summary>
    public int ChainId { get; private set; }

    /// <summary>
    /// Starts anvil. With <paramref name="blockTimeSeconds"/> it mines a block on that interval (what
    /// concurrent traffic needs, see ARCHITECTURE.md); with null it automines each transaction on arrival.
    /// </summary>
    public static async Task<AnvilNode> StartAsync(int? blockTimeSeconds = 1)
    {
        var anvil = FindBinary();
        // The free port may be taken by someone else before anvil binds it: then take another.
        for (var attempt = 1; ; attempt++)
        {
            var node = Launch(anvil, FreePort.Next(), blockTimeSeconds);
            try
            {
                await node.WaitUntilAnsweringAsync();
                return node;
            }
            catch (InvalidOperationException) when (attempt < 3 && node._process.HasExited)
            {
                await node.DisposeAsync();
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Sends a JSON-RPC request and returns its result; an error answer throws <see cref="JsonRpcException"/>.</summary>
    /// <param name="args">The params: JSON-serializable values; a <see cref="BigInteger"/> is sent as a hex quantity.</param>
    public async Task<JsonNode?> RpcAsync(string method, params object[] args)
    {
        var request = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = Interlocked.Increment(ref _nextRequestId),
            ["method"] = method,
            ["params"] = new JsonArray(args.Select(ToJson).ToArray()),
        };
        using var content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(RpcUrl, content);
        var body = await response.Content.ReadAsStringAsync();
        var answer = ParseObject(body);
        if (answer?["error"] is JsonObject error)
        {
            throw new JsonRpcException(method, error);
        }

        if (!response.IsSuccessStatusCode || answer is null || !answer.ContainsKey("result"))
        {
            throw new HttpRequestException($"{method}: anvil answered {(int)response.StatusCode}: {body}");
        }

        // Detached from the envelope, so callers may put it into documents of their own.
        var result = answer["result"];
        answer.Remove("result");
        return result;
    }

    public async Task<BigInteger> GetBalanceAsync(string address) =>
        ParseQuantity(await RpcAsync("eth_getBalance", address, "latest"));

    public Task SetBalanceAsync(string address, BigInteger wei) =>
        RpcAsync("anvil_setBalance", address, wei);

    public async Task<long> GetBlockNumberAsync() =>
        (long)ParseQuantity(await RpcAsync("eth_blockNumber"));

    /// <summary>Mines one block now, whatever the interval.</summary>
    public Task MineAsync() => RpcAsync("evm_mine");

    /// <summary>The receipt, or null while the transaction is not mined (or unknown).</summary>
    public Task<JsonNode?> GetTransactionReceiptAsync(string hash) =>
        RpcAsync("eth_getTransactionReceipt", hash);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        KillTree();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _cleanupOnDeath.Cancel();
        _process.Dispose();
        _http.Dispose();
    }

    /// <summary>The synchronous stop for process exit, when nothing async may still run.</summary>
    private void Stop()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            KillTree();
            _process.WaitForExit(10_000);
            _cleanupOnDeath.Cancel();
        }
    }

    private void KillTree()
    {
        // The npm "anvil" is a node script that runs the native binary as its child: kill both.
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static AnvilNode Launch(string anvil, int port, int? blockTimeSeconds)
    {
        // setsid makes anvil (still this process id: setsid execs it) the leader of a new process
        // group that its native child joins, so a cleanup after our death can kill both at once.
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments = [anvil, "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--chain-id", DefaultChainId.ToString(CultureInfo.InvariantCulture), "--silent"];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (blockTimeSeconds is { } seconds)
        {
            start.ArgumentList.Add("--block-time");
            start.ArgumentList.Add(seconds.ToString(CultureInfo.InvariantCulture));
        }

        var output = new OutputTail();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {anvil}.");
        }

        // Read both pipes so a chatty anvil never blocks on a full one; keep the end for error messages.
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new AnvilNode(process, output, port);
    }

    private Task WaitUntilAnsweringAsync() =>
        Wait.UntilAsync($"anvil to answer eth_chainId at {RpcUrl}", StartTimeout, async () =>
        {
            try
            {
                ChainId = (int)ParseQuantity(await RpcAsync("eth_chainId"));
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, () => _process.HasExited ? $"anvil exited with code {_process.ExitCode}.\n{_output}" : null);

    /// <summary>ANVIL_BIN, then the repository's .tools/anvil (scripts/prerequisites.sh installs it there), then PATH.</summary>
    private static string FindBinary()
    {
        if (Environment.GetEnvironmentVariable("ANVIL_BIN") is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"ANVIL_BIN names {configured}, which does not exist.");
        }

        if (RepositoryRoot.Find() is { } root)
        {
            var installed = Path.Combine(root, ".tools", "anvil", "node_modules", ".bin", "anvil");
            if (File.Exists(installed))
            {
                return installed;
            }
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "anvil"))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new InvalidOperationException(
            "anvil was found neither in ANVIL_BIN, nor in .tools/anvil, nor on PATH. Run scripts/prerequisites.sh.");
    }

    private static JsonNode? ToJson(object arg) => arg switch
    {
        JsonNode node => node.DeepClone(),
        BigInteger value => ToQuantity(value),
        _ => JsonSerializer.SerializeToNode(arg, arg.GetType()),
    };

    /// <summary>JSON-RPC's hex quantity: "0x" and no leading zeros.</summary>
    private static string ToQuantity(BigInteger value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var hex = value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
        return "0x" + (hex.Length == 0 ? "0" : hex);
    }

    private static BigInteger ParseQuantity(JsonNode? node)
    {
        var text = node?.GetValue<string>() ?? throw new FormatException("Expected a hex quantity, got null.");
        if (!text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"Expected a hex quantity, got {text}.");
        }

        // The leading 0 keeps the number positive whatever its first hex digit.
        return BigInteger.Parse("0" + text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    private static JsonObject? ParseObject(string body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The last lines a process printed, for error messages.</summary>
    private sealed class OutputTail
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line);
                if (_lines.Count > 40)
                {
                    _lines.Dequeue();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return _lines.Count == 0 ? "(anvil printed nothing)" : string.Join('\n', _lines);
            }
        }
    }
}

/// <summary>A JSON-RPC error answer: the node understood the request and refused it.</summary>
public sealed class JsonRpcException : Exception
{
    public JsonRpcException(string method, JsonObject error)
        : base($"{method}: {error["message"]?.ToString() ?? error.ToJsonString()} (code {error["code"]})")
    {
        Method = method;
        Code = error["code"] is JsonValue code && code.TryGetValue(out int value) ? value : 0;
        ErrorData = error["data"]?.DeepClone();
    }

    public string Method { get; }
    public int Code { get; }
    /// <summary>The error's "data" member, e.g. revert data.</summary>
    public JsonNode? ErrorData { get; }
}
