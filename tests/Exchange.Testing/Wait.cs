using System.Diagnostics;

namespace Exchange.Testing;

/// <summary>Waits for a condition by trying it again and again until a deadline, never by sleeping.</summary>
internal static class Wait
{
    /// <summary>
    /// Calls <paramref name="attempt"/> until it returns true. Each attempt (a connection) takes some
    /// time of its own; between failures the thread spins briefly and yields. <paramref name="gaveUp"/>
    /// may name a reason to stop at once, e.g. that the process being waited for has exited.
    /// </summary>
    public static async Task UntilAsync(string what, TimeSpan timeout, Func<Task<bool>> attempt, Func<string?>? gaveUp = null)
    {
        var clock = Stopwatch.StartNew();
        var spinner = new SpinWait();
        while (true)
        {
            if (await attempt())
            {
                return;
            }

            if (gaveUp?.Invoke() is { } reason)
            {
                throw new InvalidOperationException($"Stopped waiting for {what}: {reason}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Gave up after {timeout.TotalSeconds:0} s waiting for {what}.");
            }

            spinner.SpinOnce();
            await Task.Yield();
        }
    }
}
