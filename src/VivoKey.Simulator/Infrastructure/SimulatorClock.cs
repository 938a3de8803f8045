namespace VivoKey.Simulator.Infrastructure;

/// <summary>
/// The simulator's clock: real time plus an offset that tests move forward, so a 30-second
/// challenge deadline or an hour-long token lifetime passes without waiting for it.
/// Token lifetimes (OpenIddict) and challenge deadlines both read this clock.
/// </summary>
public sealed class SimulatorClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), "The clock only moves forward.");
        }

        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
