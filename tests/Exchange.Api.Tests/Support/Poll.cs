namespace Exchange.Api.Tests.Support;

/// <summary>Waits for a condition with a deadline, asking again at a short interval (a timer, not a sleep in the flow).</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, double seconds = 30)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var last = await probe();
        while (!done(last))
        {
            try
            {
                await timer.WaitForNextTickAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Gave up after {seconds} s waiting for {what}; last seen: {last}");
            }

            last = await probe();
        }

        return last;
    }
}
