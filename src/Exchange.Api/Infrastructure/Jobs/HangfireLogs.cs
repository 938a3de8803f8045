using Hangfire.AspNetCore;
using Hangfire.Logging;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>
/// Hangfire's logs, in this host's logging. Hangfire keeps one log provider for the whole process, and a
/// component (a job client made on first use, say) asks it for a logger long after start-up. Where a process
/// runs several hosts one after another (the tests do), the provider may belong to a host already disposed:
/// asking its logger factory throws, and the request that needed the component fails with a 500. A host that is
/// gone logs nothing instead.
/// </summary>
public sealed class HangfireLogs(ILoggerFactory loggers) : ILogProvider
{
    private readonly AspNetCoreLogProvider _logs = new(loggers);

    public ILog GetLogger(string name)
    {
        try
        {
            return _logs.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return Silent.Instance;
        }
    }

    private sealed class Silent : ILog
    {
        public static readonly Silent Instance = new();

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}
