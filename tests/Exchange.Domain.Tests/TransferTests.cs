using System.Numerics;
using Exchange.Domain.Common;
using Exchange.Domain.Transfers;

namespace Exchange.Domain.Tests;

public class TransferTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("5f1e2d3c-4b5a-4968-8776-655443322110");
    private static readonly Guid Sender = Guid.Parse("11111111-2222-4333-8444-555555555555");
    private static readonly Guid Receiver = Guid.Parse("66666666-7777-4888-9999-aaaaaaaaaaaa");
    private static readonly BigInteger Amount = BigInteger.Parse("2500000000000000000", System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    private static Transfer NewTransfer() => new(Id, Sender, Asset.Eth, Amount, Receiver, T0);

    [Fact]
    public void A_new_transfer_waits_for_approval()
    {
        var t = NewTransfer();

        Assert.Equal(RequestStatus.PendingApproval, t.Status);
        Assert.Equal(Sender, t.MemberId);
        Assert.Equal(Receiver, t.ToMemberId);
        Assert.Equal(Amount, t.Amount);
        Assert.Equal("ETH", t.Asset);
        Assert.Equal("transfer", t.Kind.ToWire());
        Assert.Equal($"transfer:{Id}", t.AuditSubject);
        Assert.Empty(t.PendingChanges);
    }

    [Fact]
    public void A_transfer_to_oneself_is_refused()
    {
        var error = Assert.Throws<DomainException>(() => new Transfer(Id, Sender, Asset.Eth, Amount, Sender, T0));

        Assert.Equal("transfer_to_self", error.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_zero_or_negative_transfer_is_refused(long amount)
    {
        var error = Assert.Throws<DomainException>(() => new Transfer(Id, Sender, Asset.Eth, amount, Receiver, T0));

        Assert.Equal("invalid_amount", error.Code);
    }

    [Fact]
    public void An_approved_transfer_settles_to_confirmed()
    {
        var t = NewTransfer();

        t.Approve(At(1));
        t.MarkSettled(At(2));

        Assert.Equal(RequestStatus.Confirmed, t.Status);
        Assert.Equal(At(2), t.UpdatedAt);
        Assert.Equal(
            [
                new StatusChange(RequestStatus.PendingApproval, RequestStatus.Approved, At(1), null),
                new StatusChange(RequestStatus.Approved, RequestStatus.Confirmed, At(2), null),
            ],
            t.PendingChanges);
    }

    [Fact]
    public void A_pending_transfer_cannot_settle()
    {
        var t = NewTransfer();

        var error = Assert.Throws<InvalidTransitionException>(() => t.MarkSettled(At(1)));

        Assert.Equal(RequestStatus.PendingApproval, error.From);
        Assert.Equal(RequestStatus.Confirmed, error.To);
        Assert.Equal(RequestStatus.PendingApproval, t.Status);
        Assert.Empty(t.PendingChanges);
        Assert.Equal(T0, t.UpdatedAt);
    }

    [Fact]
    public void A_transfer_settles_only_once()
    {
        var t = NewTransfer();
        t.Approve(At(1));
        t.MarkSettled(At(2));

        Assert.Throws<InvalidTransitionException>(() => t.MarkSettled(At(3)));

        Assert.Equal(2, t.PendingChanges.Count);
        Assert.Equal(At(2), t.UpdatedAt);
    }

    [Theory]
    [InlineData(RequestStatus.Declined)]
    [InlineData(RequestStatus.Expired)]
    [InlineData(RequestStatus.TokenExpired)]
    [InlineData(RequestStatus.Rejected)]
    [InlineData(RequestStatus.Cancelled)]
    [InlineData(RequestStatus.Failed)]
    public void An_ended_transfer_can_neither_be_approved_nor_settled(RequestStatus outcome)
    {
        var t = NewTransfer();
        t.End(outcome, At(1), "ended");

        Assert.Throws<InvalidTransitionException>(() => t.Approve(At(2)));
        Assert.Throws<InvalidTransitionException>(() => t.MarkSettled(At(2)));
        Assert.Throws<InvalidTransitionException>(() => t.End(RequestStatus.Failed, At(2)));

        Assert.Equal(outcome, t.Status);
        Assert.Single(t.PendingChanges);
    }

    [Fact]
    public void An_approved_transfer_may_fail_but_not_be_cancelled()
    {
        var cancelled = NewTransfer();
        cancelled.Approve(At(1));
        Assert.Throws<InvalidTransitionException>(() => cancelled.End(RequestStatus.Cancelled, At(2)));
        Assert.Equal(RequestStatus.Approved, cancelled.Status);

        var failed = NewTransfer();
        failed.Approve(At(1));
        failed.End(RequestStatus.Failed, At(2), "receiver gone");
        Assert.Equal(RequestStatus.Failed, failed.Status);
        Assert.Equal("receiver gone", failed.Error);
    }

    [Fact]
    public void A_confirmed_transfer_never_releases()
    {
        var t = NewTransfer();
        t.Approve(At(1));
        t.MarkSettled(At(2));

        foreach (var outcome in Enum.GetValues<RequestStatus>().Where(s => s.ReleasesFunds()))
        {
            Assert.Throws<InvalidTransitionException>(() => t.End(outcome, At(3)));
        }

        Assert.Equal(RequestStatus.Confirmed, t.Status);
    }

    [Fact]
    public void Approving_twice_is_refused()
    {
        var t = NewTransfer();
        t.Approve(At(1));

        var error = Assert.Throws<InvalidTransitionException>(() => t.Approve(At(2)));

        Assert.Equal(RequestStatus.Approved, error.From);
        Assert.Equal(RequestStatus.Approved, error.To);
        Assert.Single(t.PendingChanges);
        Assert.Equal(At(1), t.UpdatedAt);
    }
}
