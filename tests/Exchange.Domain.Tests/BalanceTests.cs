using System.Numerics;
using Exchange.Domain.Common;
using Exchange.Domain.Ledger;

namespace Exchange.Domain.Tests;

public class BalanceTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Guid Member = Guid.Parse("0b9a2f6c-5d4e-4f3a-8c2b-1e0d9f8a7b6c");
    private static readonly Guid Other = Guid.Parse("9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d");
    private static readonly Guid Request = Guid.Parse("7d3c8f0e-2b7a-4c55-9b1e-0f6a5d8c4e21");

    private static Balance WithAvailable(BigInteger available)
    {
        var balance = new Balance(Member, Asset.Eth);
        if (available > 0)
        {
            balance.Credit(available, null, T0);
        }

        return balance;
    }

    private static Balance WithHeld(BigInteger available, BigInteger held)
    {
        var balance = WithAvailable(available + held);
        if (held > 0)
        {
            balance.Hold(held, Request, T0);
        }

        return balance;
    }

    private static void AssertEntry(JournalEntry entry, JournalKind kind, BigInteger availableDelta, BigInteger heldDelta, Guid? requestId, DateTimeOffset at, Guid? member = null)
    {
        Assert.Equal(kind, entry.Kind);
        Assert.Equal(availableDelta, entry.AvailableDelta);
        Assert.Equal(heldDelta, entry.HeldDelta);
        Assert.Equal(requestId, entry.RequestId);
        Assert.Equal(at, entry.At);
        Assert.Equal(member ?? Member, entry.MemberId);
        Assert.Equal("ETH", entry.Asset);
    }

    public static TheoryData<long> NotPositive() => new(0L, -1L, -1_000_000_000_000_000_000L);

    [Fact]
    public void A_new_balance_is_empty()
    {
        var balance = new Balance(Member, Asset.Eth);

        Assert.Equal(Member, balance.MemberId);
        Assert.Equal("ETH", balance.Asset);
        Assert.Equal(BigInteger.Zero, balance.Available);
        Assert.Equal(BigInteger.Zero, balance.Held);
    }

    [Fact]
    public void A_credit_adds_to_available()
    {
        var balance = WithAvailable(10);

        var entry = balance.Credit(5, Request, T0.AddSeconds(1));

        Assert.Equal(new BigInteger(15), balance.Available);
        Assert.Equal(BigInteger.Zero, balance.Held);
        AssertEntry(entry, JournalKind.Credit, 5, 0, Request, T0.AddSeconds(1));
    }

    [Fact]
    public void A_credit_need_not_belong_to_a_request()
    {
        var entry = new Balance(Member, Asset.Eth).Credit(1, null, T0);

        Assert.Null(entry.RequestId);
    }

    [Fact]
    public void A_hold_moves_funds_from_available_to_held()
    {
        var balance = WithAvailable(10);

        var entry = balance.Hold(4, Request, T0);

        Assert.Equal(new BigInteger(6), balance.Available);
        Assert.Equal(new BigInteger(4), balance.Held);
        AssertEntry(entry, JournalKind.Hold, -4, 4, Request, T0);
    }

    [Fact]
    public void The_whole_available_balance_can_be_held()
    {
        var balance = WithAvailable(10);

        balance.Hold(10, Request, T0);

        Assert.Equal(BigInteger.Zero, balance.Available);
        Assert.Equal(new BigInteger(10), balance.Held);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(10, 11)]
    [InlineData(10, 1_000_000)]
    public void Holding_more_than_available_throws_and_changes_nothing(long available, long amount)
    {
        var balance = WithHeld(available, 3);

        var error = Assert.Throws<InsufficientFundsException>(() => balance.Hold(amount, Request, T0));

        Assert.Equal("insufficient_funds", error.Code);
        Assert.Contains("ETH", error.Message, StringComparison.Ordinal);
        Assert.Equal(new BigInteger(available), balance.Available);
        Assert.Equal(new BigInteger(3), balance.Held);
    }

    [Fact]
    public void A_release_moves_funds_from_held_back_to_available()
    {
        var balance = WithHeld(2, 8);

        var entry = balance.Release(5, Request, T0);

        Assert.Equal(new BigInteger(7), balance.Available);
        Assert.Equal(new BigInteger(3), balance.Held);
        AssertEntry(entry, JournalKind.Release, 5, -5, Request, T0);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(8, 9)]
    public void Releasing_more_than_held_throws_and_changes_nothing(long held, long amount)
    {
        var balance = WithHeld(100, held);

        var error = Assert.Throws<DomainException>(() => balance.Release(amount, Request, T0));

        Assert.Equal("held_underflow", error.Code);
        Assert.Equal(new BigInteger(100), balance.Available);
        Assert.Equal(new BigInteger(held), balance.Held);
    }

    [Theory]
    [InlineData(JournalKind.WithdrawalOut)]
    [InlineData(JournalKind.TransferOut)]
    public void Settling_out_takes_funds_from_held_for_good(JournalKind kind)
    {
        var balance = WithHeld(2, 8);

        var entry = balance.SettleOut(8, Request, kind, T0);

        Assert.Equal(new BigInteger(2), balance.Available);
        Assert.Equal(BigInteger.Zero, balance.Held);
        AssertEntry(entry, kind, 0, -8, Request, T0);
    }

    [Theory]
    [InlineData(JournalKind.WithdrawalOut, 0, 1)]
    [InlineData(JournalKind.WithdrawalOut, 8, 9)]
    [InlineData(JournalKind.TransferOut, 8, 9)]
    public void Settling_out_more_than_held_throws_and_changes_nothing(JournalKind kind, long held, long amount)
    {
        var balance = WithHeld(100, held);

        var error = Assert.Throws<DomainException>(() => balance.SettleOut(amount, Request, kind, T0));

        Assert.Equal("held_underflow", error.Code);
        Assert.Equal(new BigInteger(100), balance.Available);
        Assert.Equal(new BigInteger(held), balance.Held);
    }

    [Theory]
    [InlineData(JournalKind.Credit)]
    [InlineData(JournalKind.Hold)]
    [InlineData(JournalKind.Release)]
    [InlineData(JournalKind.TransferIn)]
    public void Settling_out_as_anything_but_a_withdrawal_or_transfer_is_refused(JournalKind kind)
    {
        var balance = WithHeld(1, 8);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => balance.SettleOut(8, Request, kind, T0));

        Assert.Equal("kind", error.ParamName);
        Assert.Equal(BigInteger.One, balance.Available);
        Assert.Equal(new BigInteger(8), balance.Held);
    }

    [Fact]
    public void Receiving_a_transfer_adds_to_available()
    {
        var balance = WithAvailable(1);

        var entry = balance.ReceiveTransfer(9, Request, T0);

        Assert.Equal(new BigInteger(10), balance.Available);
        Assert.Equal(BigInteger.Zero, balance.Held);
        AssertEntry(entry, JournalKind.TransferIn, 9, 0, Request, T0);
    }

    [Theory]
    [MemberData(nameof(NotPositive))]
    public void Zero_or_negative_amounts_are_refused_by_every_operation(long amount)
    {
        var balance = WithHeld(50, 50);
        var operations = new Func<JournalEntry>[]
        {
            () => balance.Credit(amount, null, T0),
            () => balance.Hold(amount, Request, T0),
            () => balance.Release(amount, Request, T0),
            () => balance.SettleOut(amount, Request, JournalKind.WithdrawalOut, T0),
            () => balance.SettleOut(amount, Request, JournalKind.TransferOut, T0),
            () => balance.ReceiveTransfer(amount, Request, T0),
        };

        foreach (var operation in operations)
        {
            var error = Assert.Throws<DomainException>(() => operation());
            Assert.Equal("invalid_amount", error.Code);
        }

        Assert.Equal(new BigInteger(50), balance.Available);
        Assert.Equal(new BigInteger(50), balance.Held);
    }

    [Fact]
    public void Amounts_far_beyond_64_bits_are_kept_exactly()
    {
        var huge = BigInteger.Pow(10, 77) - 1; // the largest numeric(78,0)
        var balance = new Balance(Member, Asset.Eth);

        balance.Credit(huge, null, T0);
        balance.Hold(huge - 1, Request, T0);

        Assert.Equal(BigInteger.One, balance.Available);
        Assert.Equal(huge - 1, balance.Held);
    }

    [Fact]
    public void A_transfer_moves_held_funds_of_the_sender_to_available_of_the_receiver_and_creates_nothing()
    {
        var sender = WithAvailable(10);
        var receiver = new Balance(Other, Asset.Eth);
        var totalBefore = sender.Available + sender.Held + receiver.Available + receiver.Held;

        var hold = sender.Hold(4, Request, T0);
        var outEntry = sender.SettleOut(4, Request, JournalKind.TransferOut, T0);
        var inEntry = receiver.ReceiveTransfer(4, Request, T0);

        Assert.Equal(totalBefore, sender.Available + sender.Held + receiver.Available + receiver.Held);
        Assert.Equal(new BigInteger(6), sender.Available);
        Assert.Equal(BigInteger.Zero, sender.Held);
        Assert.Equal(new BigInteger(4), receiver.Available);
        AssertEntry(inEntry, JournalKind.TransferIn, 4, 0, Request, T0, Other);
        var entries = new[] { hold, outEntry, inEntry };
        Assert.Equal(BigInteger.Zero, entries.Aggregate(BigInteger.Zero, (sum, e) => sum + e.AvailableDelta + e.HeldDelta));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Funds_are_conserved_over_any_sequence_of_operations(int seed)
    {
        var random = new Random(seed);
        var balance = new Balance(Member, Asset.Eth);
        var journal = new List<JournalEntry>();
        var holds = new List<(Guid Request, BigInteger Amount)>();
        BigInteger RandomAmount(BigInteger max) => BigInteger.One + (new BigInteger(random.NextInt64(long.MaxValue)) * BigInteger.Pow(10, random.Next(0, 6)) % max);

        for (var step = 0; step < 400; step++)
        {
            var at = T0.AddSeconds(step);
            switch (random.Next(6))
            {
                case 0:
                    journal.Add(balance.Credit(RandomAmount(BigInteger.Pow(10, 21)), null, at));
                    break;
                case 1:
                    journal.Add(balance.ReceiveTransfer(RandomAmount(BigInteger.Pow(10, 19)), Guid.NewGuid(), at));
                    break;
                case 2 when balance.Available > 0:
                {
                    var amount = RandomAmount(balance.Available);
                    var request = Guid.NewGuid();
                    journal.Add(balance.Hold(amount, request, at));
                    holds.Add((request, amount));
                    break;
                }

                case 3:
                {
                    // An attempt to hold more than there is: refused, nothing moves.
                    var (available, held) = (balance.Available, balance.Held);
                    Assert.Throws<InsufficientFundsException>(() => balance.Hold(available + RandomAmount(1000), Guid.NewGuid(), at));
                    Assert.Equal((available, held), (balance.Available, balance.Held));
                    break;
                }

                case 4 when holds.Count > 0:
                {
                    var index = random.Next(holds.Count);
                    var (request, amount) = holds[index];
                    holds.RemoveAt(index);
                    journal.Add(balance.Release(amount, request, at));
                    break;
                }

                case 5 when holds.Count > 0:
                {
                    var index = random.Next(holds.Count);
                    var (request, amount) = holds[index];
                    holds.RemoveAt(index);
                    var kind = random.Next(2) == 0 ? JournalKind.WithdrawalOut : JournalKind.TransferOut;
                    journal.Add(balance.SettleOut(amount, request, kind, at));
                    break;
                }
            }

            Assert.True(balance.Available >= 0, $"available went negative at step {step}");
            Assert.True(balance.Held >= 0, $"held went negative at step {step}");
        }

        BigInteger Sum(Func<JournalEntry, bool> which, Func<JournalEntry, BigInteger> value) =>
            journal.Where(which).Aggregate(BigInteger.Zero, (sum, e) => sum + value(e));

        var creditedIn = Sum(e => e.Kind is JournalKind.Credit or JournalKind.TransferIn, e => e.AvailableDelta);
        var settledOut = Sum(e => e.Kind is JournalKind.WithdrawalOut or JournalKind.TransferOut, e => -e.HeldDelta);

        Assert.Equal(creditedIn, balance.Available + balance.Held + settledOut);
        Assert.Equal(balance.Available, Sum(_ => true, e => e.AvailableDelta));
        Assert.Equal(balance.Held, Sum(_ => true, e => e.HeldDelta));
        Assert.Equal(holds.Aggregate(BigInteger.Zero, (sum, h) => sum + h.Amount), balance.Held);
        Assert.All(journal.Where(e => e.Kind is JournalKind.Hold or JournalKind.Release), e => Assert.Equal(BigInteger.Zero, e.AvailableDelta + e.HeldDelta));
        Assert.All(journal, e => Assert.False(e.AvailableDelta.IsZero && e.HeldDelta.IsZero));
        Assert.Contains(journal, e => e.Kind == JournalKind.WithdrawalOut);
        Assert.Contains(journal, e => e.Kind == JournalKind.Release);
    }

    [Theory]
    [InlineData(JournalKind.Credit, "credit")]
    [InlineData(JournalKind.Hold, "hold")]
    [InlineData(JournalKind.Release, "release")]
    [InlineData(JournalKind.WithdrawalOut, "withdrawal_out")]
    [InlineData(JournalKind.TransferOut, "transfer_out")]
    [InlineData(JournalKind.TransferIn, "transfer_in")]
    public void Each_journal_kind_has_its_snake_case_wire_name(JournalKind kind, string wire)
    {
        Assert.Equal(wire, JournalKinds.ToWire(kind));
        Assert.Equal(kind, JournalKinds.Parse(wire));
    }

    [Fact]
    public void Every_journal_kind_round_trips_through_its_wire_name()
    {
        Assert.All(Enum.GetValues<JournalKind>(), kind => Assert.Equal(kind, JournalKinds.Parse(JournalKinds.ToWire(kind))));
    }
}
