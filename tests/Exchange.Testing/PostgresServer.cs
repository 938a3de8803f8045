using System.Runtime.InteropServices;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Exchange.Testing;

/// <summary>
/// A real PostgreSQL server for a test run: a postgres:15 container where a Docker engine answers,
/// otherwise a throwaway cluster (initdb + pg_ctl) in a temporary directory on a free loopback port.
/// Tests get a fresh database each from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>initdb and postgres refuse to run as root; as root, the cluster runs as this system user.</summary>
    public const string OsUser = "exchange-pg";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    // Unsafe server settings, fine for data that lives as long as a test run.
    private static readonly string[] FastSettings =
        ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=1000", "track_commit_timestamp=on"];

    // A durable cluster keeps PostgreSQL's defaults (fsync, synchronous commit): what a benchmark measures.
    private static readonly string[] DurableSettings = ["max_connections=1000", "track_commit_timestamp=on"];

    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(() => StartAsync());

    private readonly PostgreSqlContainer? _container;
    private readonly LocalCluster? _cluster;
    private readonly EventHandler _onProcessExit;
    private int _disposed;

    private PostgresServer(string adminConnectionString, PostgreSqlContainer? container, LocalCluster? cluster)
    {
        AdminConnectionString = adminConnectionString;
        _container = container;
        _cluster = cluster;
        // Nothing started here may outlive the test process, whoever forgets to dispose it.
        _onProcessExit = (_, _) => DisposeAsync().AsTask().GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
    }

    /// <summary>One server for the whole test process, started on first use and stopped when the process exits.</summary>
    public static Task<PostgresServer> Shared => SharedServer.Value;

    /// <summary>Connects as the superuser <c>postgres</c> to the <c>postgres</c> database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>True when the server runs in a Docker container, false for a local cluster.</summary>
    public bool InContainer => _container is not null;

    /// <summary>The directory of PostgreSQL's programs (pgbench among them) for a local cluster; null in a container.</summary>
    public string? BinDirectory => _cluster?.BinDirectory;

    /// <summary>Starts a server; <paramref name="durable"/> keeps fsync and synchronous commit on, as production runs.</summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        var settings = durable ? DurableSettings : FastSettings;
        if (DockerMayAnswer())
        {
            try
            {
                return await StartContainerAsync(settings);
            }
            catch (Exception)
            {
                // No usable Docker engine after all (daemon down, no permission, no image): run locally.
            }
        }

        return await StartLocalClusterAsync(settings);
    }

    /// <summary>
    /// Creates a database with a unique name and returns its connection string: empty, or a copy of
    /// <paramref name="template"/> (a database nobody is connected to).
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null, string? template = null)
    {
        var name = DatabaseName(prefix);
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            var copy = template is null ? "" : $" TEMPLATE \"{template}\"";
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"{copy}", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString)
        {
            Database = name,
            IncludeErrorDetail = true,
            MaxPoolSize = 50,
        }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        NpgsqlConnection.ClearAllPools();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.StopAsync();
        }
    }

    /// <summary>Lowercase letters, digits and underscores, within PostgreSQL's 63-byte identifier limit.</summary>
    private static string DatabaseName(string? prefix)
    {
        var cleaned = new string((prefix ?? "test").ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        if (cleaned.Length == 0 || char.IsAsciiDigit(cleaned[0]))
        {
            cleaned = "db_" + cleaned;
        }

        return $"{cleaned[..Math.Min(cleaned.Length, 30)]}_{Guid.NewGuid():N}";
    }

    /// <summary>A cheap look before paying for a Testcontainers attempt, which is slow to fail.</summary>
    private static bool DockerMayAnswer() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    private static async Task<PostgresServer> StartContainerAsync(string[] settings)
    {
        var container = new PostgreSqlBuilder("postgres:15")
            .WithCommand(settings.SelectMany(setting => new[] { "-c", setting }).ToArray())
            .Build();
        try
        {
            // Generous: the first run may pull the image.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await container.StartAsync(timeout.Token);
            await WaitUntilAcceptingAsync(container.GetConnectionString(), () => null);
            return new PostgresServer(container.GetConnectionString(), container, cluster: null);
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }
    }

    private static async Task<PostgresServer> StartLocalClusterAsync(string[] settings)
    {
        var cluster = await LocalCluster.InitAsync(settings);
        try
        {
            // The free port may be taken by someone else before postgres binds it: then take another.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Next();
                var started = await cluster.TryStartAsync(port);
                if (started is null)
                {
                    var connectionString = new NpgsqlConnectionStringBuilder
                    {
                        Host = "127.0.0.1",
                        Port = port,
                        Username = "postgres",
                        Database = "postgres",
                        IncludeErrorDetail = true,
                    }.ConnectionString;
                    await WaitUntilAcceptingAsync(connectionString, cluster.WhyNotRunning);
                    return new PostgresServer(connectionString, container: null, cluster);
                }

                if (attempt == 3)
                {
                    throw new InvalidOperationException($"PostgreSQL did not start: {started}");
                }
            }
        }
        catch
        {
            await cluster.StopAsync();
            throw;
        }
    }

    /// <summary>Ready means a real connection opens and answers a query.</summary>
    private static Task WaitUntilAcceptingAsync(string connectionString, Func<string?> whyNotRunning)
    {
        var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 2 }.ConnectionString;
        return Wait.UntilAsync("PostgreSQL to accept connections", StartTimeout, async () =>
        {
            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync();
                await using var query = new NpgsqlCommand("select 1", connection);
                await query.ExecuteScalarAsync();
                return true;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                return false;
            }
        }, whyNotRunning);
    }

    /// <summary>A cluster of our own under a temporary directory, removed when it stops.</summary>
    private sealed class LocalCluster
    {
        private readonly string _bin;
        private readonly string _root;
        private readonly bool _asRoot;
        private CleanupOnDeath? _cleanupOnDeath;

        private LocalCluster(string bin, string root, bool asRoot)
        {
            _bin = bin;
            _root = root;
            _asRoot = asRoot;
        }

        private string DataDirectory => Path.Combine(_root, "data");
        private string LogFile => Path.Combine(_root, "postgres.log");

        public string BinDirectory => _bin;

        public static async Task<LocalCluster> InitAsync(string[] settings)
        {
            var bin = FindBinaries() ?? throw new InvalidOperationException(
                "PostgreSQL's initdb and pg_ctl were found neither on PATH nor under /usr/lib/postgresql/*/bin nor in /usr/local/bin, " +
                "and no Docker engine answered. Run scripts/prerequisites.sh.");
            var asRoot = geteuid() == 0;
            // Short path on purpose: the Unix socket lives here and socket paths are limited to ~100 bytes.
            var cluster = new LocalCluster(bin, Directory.CreateTempSubdirectory("exchange-pg-").FullName, asRoot);
            try
            {
                if (asRoot)
                {
                    await EnsureOsUserAsync();
                    await Command.RunCheckedAsync("chown", [$"{OsUser}:", cluster._root]);
                }

                var stop = cluster.AsPgUser("pg_ctl", ["-D", cluster.DataDirectory, "-m", "immediate", "-w", "stop"]);
                cluster._cleanupOnDeath = CleanupOnDeath.Start(
                    $"{string.Join(' ', stop.Select(CleanupOnDeath.Quote))}; rm -rf {CleanupOnDeath.Quote(cluster._root)}");

                await cluster.RunPgAsync("initdb",
                    ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
                var socketDirectory = cluster._root.Replace("'", "''", StringComparison.Ordinal);
                await File.AppendAllLinesAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"),
                [
                    "# Added by Exchange.Testing: a throwaway cluster for tests.",
                    .. settings.Select(s => s.Replace("=", " = ", StringComparison.Ordinal)),
                    "listen_addresses = '127.0.0.1'",
                    $"unix_socket_directories = '{socketDirectory}'",
                ]);
                return cluster;
            }
            catch
            {
                await cluster.StopAsync();
                throw;
            }
        }

        /// <summary>Starts postgres on the port; null on success, otherwise what went wrong.</summary>
        public async Task<string?> TryStartAsync(int port)
        {
            // -w: pg_ctl returns once the server is up, or as soon as it has died (e.g. the port was taken).
            var result = await RunPgAsync("pg_ctl",
                ["-D", DataDirectory, "-l", LogFile, "-o", $"-p {port}", "-w", "-t", "30", "start"], check: false);
            return result.ExitCode == 0 ? null : $"{result.Describe()}\n{LogTail()}";
        }

        /// <summary>While waiting for connections: a reason to stop waiting, once the server is gone.</summary>
        public string? WhyNotRunning() =>
            File.Exists(Path.Combine(DataDirectory, "postmaster.pid")) ? null : $"the server exited.\n{LogTail()}";

        public async Task StopAsync()
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                // Immediate: nothing here is worth a clean shutdown, and the directory goes next.
                await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], check: false);
            }

            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }

            _cleanupOnDeath?.Cancel();
        }

        private string LogTail() =>
            File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(20)) : "(no server log)";

        private async Task<CommandResult> RunPgAsync(string program, IEnumerable<string> arguments, bool check = true)
        {
            var command = AsPgUser(program, arguments);
            // A working directory the unprivileged user can enter, or the tools complain about it.
            return check
                ? await Command.RunCheckedAsync(command[0], command[1..], _root)
                : await Command.RunAsync(command[0], command[1..], _root);
        }

        /// <summary>The command line running a PostgreSQL program, as the unprivileged user when we are root.</summary>
        private string[] AsPgUser(string program, IEnumerable<string> arguments) =>
            // runuser keeps our environment and needs no password or terminal, unlike su.
            _asRoot
                ? ["runuser", "-u", OsUser, "--", Path.Combine(_bin, program), .. arguments]
                : [Path.Combine(_bin, program), .. arguments];

        /// <summary>PATH first, then the newest /usr/lib/postgresql/*/bin, then /usr/local/bin (as scripts/lib.sh does).</summary>
        private static string? FindBinaries()
        {
            static bool Holds(string directory) =>
                File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

            foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                if (Holds(directory))
                {
                    // /usr/local/bin/initdb may be a link into the real directory, which also holds postgres.
                    var target = new FileInfo(Path.Combine(directory, "initdb")).ResolveLinkTarget(returnFinalTarget: true);
                    return Path.GetDirectoryName(target?.FullName) is { } real && Holds(real) ? real : directory;
                }
            }

            var installed = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
                    .Where(d => Holds(d.Bin))
                    .OrderByDescending(d => d.Version)
                    .Select(d => d.Bin)
                    .FirstOrDefault()
                : null;
            return installed ?? (Holds("/usr/local/bin") ? "/usr/local/bin" : null);
        }

        private static async Task EnsureOsUserAsync()
        {
            // Test projects start in parallel and may race to create the user: whoever loses finds it made.
            for (var attempt = 1; ; attempt++)
            {
                if ((await Command.RunAsync("id", ["-u", OsUser])).ExitCode == 0)
                {
                    return;
                }

                var created = await Command.RunAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OsUser]);
                if (created.ExitCode == 0)
                {
                    return;
                }

                if (attempt == 5)
                {
                    throw new InvalidOperationException($"Could not create the system user {OsUser}: {created.Describe()}");
                }
            }
        }

        [DllImport("libc", SetLastError = false)]
        private static extern uint geteuid();
    }
}
