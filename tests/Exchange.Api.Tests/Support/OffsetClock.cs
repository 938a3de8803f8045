namespace Exchange.Api.Tests.Support;

/// <summary>Real time plus an offset the test moves forward: deadlines pass without waiting for them.</summary>
public sealed class OffsetClock : TimeProvider
{
    private readonly Lock _gate = new();
    private TimeSpan _offset;
    private DateTimeOffset? _frozenAt;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _frozenAt ?? System.GetUtcNow() + _offset;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_gate)
        {
            _offset += by;
            _frozenAt += by;
        }
    }

    /// <summary>
    /// Moves to just past the start of the next whole minute, so a test of a per-minute window has all of one
    /// fresh minute before it, instead of straddling a boundary of the real clock by chance.
    /// </summary>
    public void AdvanceToNextMinute()
    {
        var now = GetUtcNow();
        var intoMinute = TimeSpan.FromTicks(now.Ticks % TimeSpan.TicksPerMinute);
        Advance(TimeSpan.FromMinutes(1) - intoMinute + TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// Stops the clock where it is until the result is disposed (only <see cref="Advance"/> moves it meanwhile), so a
    /// window the test counts in cannot end while the test runs, however slow the machine. Timers still run in real time;
    /// after the thaw the clock is real time plus the offset again (it jumps forward, never back).
    /// </summary>
    public IDisposable Freeze()
    {
        lock (_gate)
        {
            _frozenAt = System.GetUtcNow() + _offset;
        }

        return new Thaw(this);
    }

    private sealed class Thaw(OffsetClock clock) : IDisposable
    {
        public void Dispose()
        {
            lock (clock._gate)
            {
                clock._frozenAt = null;
            }
        }
    }
}
