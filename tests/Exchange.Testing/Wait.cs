using System.Diagnostics;

namespace Exchange.Testing;

/// <summary>Waits for a condition by trying it again at a short interval until a deadline.</summary>
internal static class Wait
{
    /// <summary>How long to leave the CPU to the process being waited for (PostgreSQL, anvil) between two attempts.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Calls <paramref name="attempt"/> until it returns true; between failures a timer, not a spin, so the
    /// machine's cores go to what is starting. <paramref name="gaveUp"/> may name a reason to stop at once,
    /// e.g. that the process being waited for has exited.
    /// </summary>
    public static async Task UntilAsync(string what, TimeSpan timeout, Func<Task<bool>> attempt, Func<string?>? gaveUp = null)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Interval);
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

            await timer.WaitForNextTickAsync();
        }
    }
}
