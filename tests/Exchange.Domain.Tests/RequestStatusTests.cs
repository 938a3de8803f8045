using Exchange.Domain.Common;

namespace Exchange.Domain.Tests;

public class RequestStatusTests
{
    /// <summary>The status list of API.md, in its order.</summary>
    private static readonly string[] ApiStatuses =
    [
        "pending_approval", "approved", "signed", "broadcast", "confirmed", "declined", "expired",
        "token_expired", "rejected", "cancelled", "failed", "tampered",
    ];

    public static TheoryData<RequestStatus> AllStatuses() => new(Enum.GetValues<RequestStatus>());

    [Theory]
    [InlineData(RequestStatus.PendingApproval, "pending_approval")]
    [InlineData(RequestStatus.Approved, "approved")]
    [InlineData(RequestStatus.Signed, "signed")]
    [InlineData(RequestStatus.Broadcast, "broadcast")]
    [InlineData(RequestStatus.Confirmed, "confirmed")]
    [InlineData(RequestStatus.Declined, "declined")]
    [InlineData(RequestStatus.Expired, "expired")]
    [InlineData(RequestStatus.TokenExpired, "token_expired")]
    [InlineData(RequestStatus.Rejected, "rejected")]
    [InlineData(RequestStatus.Cancelled, "cancelled")]
    [InlineData(RequestStatus.Failed, "failed")]
    [InlineData(RequestStatus.Tampered, "tampered")]
    public void Each_status_has_its_snake_case_wire_name(RequestStatus status, string wire)
    {
        Assert.Equal(wire, status.ToWire());
        Assert.Equal(status, RequestStatuses.Parse(wire));
        Assert.True(RequestStatuses.TryParse(wire, out var parsed));
        Assert.Equal(status, parsed);
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void Every_status_round_trips_through_its_wire_name(RequestStatus status)
    {
        Assert.Equal(status, RequestStatuses.Parse(status.ToWire()));
    }

    [Fact]
    public void The_wire_names_are_exactly_the_api_status_list()
    {
        var wires = Enum.GetValues<RequestStatus>().Select(s => s.ToWire()).ToArray();
        Assert.Equal(ApiStatuses, wires);
        Assert.Equal(wires.Length, wires.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" approved")]
    [InlineData("approved ")]
    [InlineData("Approved")]
    [InlineData("APPROVED")]
    [InlineData("PendingApproval")]
    [InlineData("pending-approval")]
    [InlineData("token-expired")]
    [InlineData("tokenexpired")]
    [InlineData("canceled")]
    [InlineData("0")]
    [InlineData("unknown")]
    public void An_unknown_wire_name_is_refused(string wire)
    {
        Assert.False(RequestStatuses.TryParse(wire, out _));
        var error = Assert.Throws<FormatException>(() => RequestStatuses.Parse(wire));
        Assert.Contains($"'{wire}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_wire_name_is_refused()
    {
        Assert.False(RequestStatuses.TryParse(null, out _));
    }

    [Theory]
    [InlineData(RequestStatus.PendingApproval, false)]
    [InlineData(RequestStatus.Approved, false)]
    [InlineData(RequestStatus.Signed, false)]
    [InlineData(RequestStatus.Broadcast, false)]
    [InlineData(RequestStatus.Confirmed, false)]
    [InlineData(RequestStatus.Declined, true)]
    [InlineData(RequestStatus.Expired, true)]
    [InlineData(RequestStatus.TokenExpired, true)]
    [InlineData(RequestStatus.Rejected, true)]
    [InlineData(RequestStatus.Cancelled, true)]
    [InlineData(RequestStatus.Failed, true)]
    public void Only_the_ends_before_signing_release_the_held_funds(RequestStatus status, bool releases)
    {
        Assert.Equal(releases, status.ReleasesFunds());
    }

    [Theory]
    [InlineData(RequestStatus.PendingApproval, false)]
    [InlineData(RequestStatus.Approved, false)]
    [InlineData(RequestStatus.Signed, false)]
    [InlineData(RequestStatus.Broadcast, false)]
    [InlineData(RequestStatus.Confirmed, true)]
    [InlineData(RequestStatus.Declined, true)]
    [InlineData(RequestStatus.Expired, true)]
    [InlineData(RequestStatus.TokenExpired, true)]
    [InlineData(RequestStatus.Rejected, true)]
    [InlineData(RequestStatus.Cancelled, true)]
    [InlineData(RequestStatus.Failed, true)]
    public void Confirmed_and_the_releasing_ends_are_final(RequestStatus status, bool final)
    {
        Assert.Equal(final, status.IsFinal());
    }

    [Fact]
    public void Exactly_six_statuses_release_funds_and_seven_are_final()
    {
        var all = Enum.GetValues<RequestStatus>();
        Assert.Equal(6, all.Count(s => s.ReleasesFunds()));
        Assert.Equal(7, all.Count(s => s.IsFinal()));
        Assert.All(all.Where(s => s.ReleasesFunds()), s => Assert.True(s.IsFinal()));
    }
}
