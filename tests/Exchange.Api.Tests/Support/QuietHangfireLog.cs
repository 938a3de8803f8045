using Hangfire.Logging;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Hangfire's log provider is process-wide, and each host sets it to its own logger factory. The
/// tests run several hosts in one process and dispose each when its class ends; a Hangfire component
/// of another host asking that disposed factory for a logger throws, and its worker stalls. So after
/// each host starts, the process-wide provider is set to this one, which never goes away.
/// </summary>
public sealed class QuietHangfireLog : ILogProvider, ILog
{
    public static readonly QuietHangfireLog Instance = new();

    public ILog GetLogger(string name) => this;

    public bool Log(LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
}
