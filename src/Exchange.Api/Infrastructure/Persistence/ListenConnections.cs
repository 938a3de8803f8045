using Npgsql;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>The connection string of a long-lived LISTEN connection (live status, work for the workers).</summary>
public static class ListenConnections
{
    /// <summary>
    /// The application's own connection, but outside the pool (it is held for the process's life), with TCP
    /// keepalives for a silent network, named in pg_stat_activity, and dropped at once when its wait is
    /// cancelled at shutdown rather than after Npgsql's default 2 s wait for the server to confirm the cancel.
    /// Read from configuration: the data source's own connection string leaves the password out.
    /// </summary>
    public static string For(IConfiguration configuration, string applicationName) =>
        new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("Exchange"))
        {
            Pooling = false,
            KeepAlive = 15,
            ApplicationName = applicationName,
            CancellationTimeout = -1,
        }.ConnectionString;
}
