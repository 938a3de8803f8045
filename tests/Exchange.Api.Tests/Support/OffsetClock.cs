namespace Exchange.Api.Tests.Support;

/// <summary>Real time plus an offset the test moves forward: deadlines pass without waiting for them.</summary>
public sealed class OffsetClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

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
}
