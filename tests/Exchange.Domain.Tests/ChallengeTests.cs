using System.Numerics;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Transfers;
using Exchange.Domain.Withdrawals;

namespace Exchange.Domain.Tests;

public class ChallengeTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Guid ChallengeId = Guid.Parse("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    private static readonly Guid RequestId = Guid.Parse("7d3c8f0e-2b7a-4c55-9b1e-0f6a5d8c4e21");
    private static readonly Guid Member = Guid.Parse("0b9a2f6c-5d4e-4f3a-8c2b-1e0d9f8a7b6c");
    private static readonly byte[] IdHash = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
    private static readonly byte[] SealedId = Enumerable.Range(0, 80).Select(i => (byte)(255 - i)).ToArray();

    private static Withdrawal Withdrawal() =>
        new(RequestId, Member, Asset.Eth, BigInteger.Pow(10, 18), "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", T0);

    private static Challenge NewChallenge() =>
        new(ChallengeId, Withdrawal(), IdHash, SealedId, "Withdraw 1 ETH to 0x71C7656EC7ab88b098defB751B7401B5f6d8976F", T0, T0.AddMinutes(5));

    [Fact]
    public void A_new_challenge_is_being_sent_for_its_request()
    {
        var c = NewChallenge();

        Assert.Equal(ChallengeId, c.Id);
        Assert.Equal(RequestId, c.RequestId);
        Assert.Equal("withdrawal", c.RequestKind.ToWire());
        Assert.Equal(Member, c.MemberId);
        Assert.Equal(IdHash, c.IdHash);
        Assert.Equal(SealedId, c.SealedId);
        Assert.Equal("Withdraw 1 ETH to 0x71C7656EC7ab88b098defB751B7401B5f6d8976F", c.Message);
        Assert.Equal(T0, c.CreatedAt);
        Assert.Equal(T0.AddMinutes(5), c.Deadline);
        Assert.Equal(ChallengeState.Sending, c.State);
        Assert.Equal(T0, c.NextSendAt);
        Assert.False(c.IsEnded);
        Assert.Null(c.VivoId);
        Assert.Null(c.Outcome);
        Assert.Null(c.EndedAt);
        Assert.Equal(0, c.SendAttempts);
    }

    [Fact]
    public void A_challenge_for_a_transfer_names_its_kind()
    {
        var transfer = new Transfer(RequestId, Member, Asset.Eth, 5, Guid.NewGuid(), T0);

        var c = new Challenge(ChallengeId, transfer, IdHash, SealedId, "Transfer", T0, T0.AddMinutes(1));

        Assert.Equal("transfer", c.RequestKind.ToWire());
        Assert.Equal(RequestId, c.RequestId);
    }

    [Fact]
    public void Acceptance_stores_the_vivo_id_and_stops_sending()
    {
        var c = NewChallenge();

        c.RecordAccepted("vivo-1");

        Assert.Equal(ChallengeState.Accepted, c.State);
        Assert.Equal("vivo-1", c.VivoId);
        Assert.Null(c.NextSendAt);
        Assert.Null(c.SealedId);
        Assert.False(c.IsEnded);
    }

    [Fact]
    public void A_second_acceptance_keeps_the_first_vivo_id()
    {
        var c = NewChallenge();
        c.RecordAccepted("vivo-1");

        c.RecordAccepted("vivo-2");

        Assert.Equal("vivo-1", c.VivoId);
        Assert.Equal(ChallengeState.Accepted, c.State);
    }

    [Fact]
    public void Acceptance_after_the_callback_ended_the_challenge_leaves_it_ended_but_keeps_the_vivo_id()
    {
        var c = NewChallenge();
        Assert.True(c.End("success", T0.AddSeconds(3)));

        c.RecordAccepted("vivo-late");

        Assert.Equal(ChallengeState.Ended, c.State);
        Assert.True(c.IsEnded);
        Assert.Equal("vivo-late", c.VivoId);
        Assert.Equal("success", c.Outcome);
        Assert.Null(c.NextSendAt);
    }

    [Fact]
    public void Acceptance_after_a_callback_that_carried_a_vivo_id_keeps_the_callbacks()
    {
        var c = NewChallenge();
        c.End("declined", T0.AddSeconds(3), "vivo-from-callback");

        c.RecordAccepted("vivo-from-post");

        Assert.Equal("vivo-from-callback", c.VivoId);
        Assert.Equal(ChallengeState.Ended, c.State);
    }

    [Fact]
    public void Acceptance_without_a_vivo_id_still_stops_sending()
    {
        var c = NewChallenge();

        c.RecordAccepted(null);

        Assert.Equal(ChallengeState.Accepted, c.State);
        Assert.Null(c.VivoId);
        Assert.Null(c.SealedId);
        Assert.Null(c.NextSendAt);

        c.RecordAccepted("vivo-later");
        Assert.Equal("vivo-later", c.VivoId);
    }

    [Fact]
    public void The_sealed_id_is_kept_across_send_failures_so_a_retry_repeats_the_same_id()
    {
        var c = NewChallenge();

        c.RecordSendFailure("503", T0.AddSeconds(2));
        c.RecordSendAttempt();

        Assert.Equal(SealedId, c.SealedId);
    }

    [Fact]
    public void Ending_wipes_the_sealed_id()
    {
        var c = NewChallenge();

        c.End("timeout", T0.AddMinutes(5));

        Assert.Null(c.SealedId);
    }

    [Fact]
    public void A_challenge_ends_once()
    {
        var c = NewChallenge();
        c.RecordAccepted("vivo-1");

        Assert.True(c.End("success", T0.AddSeconds(10)));
        Assert.False(c.End("timeout", T0.AddSeconds(20)));
        Assert.False(c.End("declined", T0.AddSeconds(30), "vivo-other"));

        Assert.Equal(ChallengeState.Ended, c.State);
        Assert.Equal("success", c.Outcome);
        Assert.Equal(T0.AddSeconds(10), c.EndedAt);
        Assert.Equal("vivo-1", c.VivoId);
    }

    [Fact]
    public void A_challenge_may_end_before_it_was_ever_accepted()
    {
        var c = NewChallenge();

        Assert.True(c.End("failed", T0.AddMinutes(5)));

        Assert.True(c.IsEnded);
        Assert.Equal("failed", c.Outcome);
        Assert.Equal(T0.AddMinutes(5), c.EndedAt);
        Assert.Null(c.NextSendAt);
        Assert.Null(c.VivoId);
    }

    [Fact]
    public void Ending_with_a_vivo_id_fills_it_only_when_missing()
    {
        var unaccepted = NewChallenge();
        unaccepted.End("success", T0, "vivo-cb");
        Assert.Equal("vivo-cb", unaccepted.VivoId);

        var accepted = NewChallenge();
        accepted.RecordAccepted("vivo-post");
        accepted.End("success", T0, "vivo-cb");
        Assert.Equal("vivo-post", accepted.VivoId);
    }

    [Fact]
    public void Send_failures_are_counted_and_scheduled_for_retry()
    {
        var c = NewChallenge();

        c.RecordSendFailure("503 Service Unavailable", T0.AddSeconds(2));
        c.RecordSendFailure("timeout", T0.AddSeconds(6));

        Assert.Equal(2, c.SendAttempts);
        Assert.Equal("timeout", c.LastSendError);
        Assert.Equal(T0.AddSeconds(6), c.NextSendAt);
        Assert.Equal(ChallengeState.Sending, c.State);

        c.RecordSendFailure("gave up", null);
        Assert.Null(c.NextSendAt);

        c.RecordSendAttempt();
        Assert.Equal(4, c.SendAttempts);
    }

    [Theory]
    [InlineData(true, null, RequestStatus.Approved)]
    [InlineData(true, "", RequestStatus.Approved)]
    [InlineData(true, "declined", RequestStatus.Approved)]
    [InlineData(false, "declined", RequestStatus.Declined)]
    [InlineData(false, "timeout", RequestStatus.Expired)]
    [InlineData(false, "token-expired", RequestStatus.TokenExpired)]
    [InlineData(false, "token_expired", RequestStatus.Declined)]
    [InlineData(false, "Timeout", RequestStatus.Declined)]
    [InlineData(false, "DECLINED", RequestStatus.Declined)]
    [InlineData(false, "something new", RequestStatus.Declined)]
    [InlineData(false, "", RequestStatus.Declined)]
    [InlineData(false, null, RequestStatus.Declined)]
    public void A_callback_outcome_maps_to_the_status_the_request_takes(bool success, string? error, RequestStatus expected)
    {
        Assert.Equal(expected, Challenge.StatusFor(success, error));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("declined")]
    [InlineData("timeout")]
    [InlineData("token-expired")]
    [InlineData("anything")]
    public void Every_unsuccessful_callback_releases_the_funds(string? error)
    {
        Assert.True(Challenge.StatusFor(false, error).ReleasesFunds());
    }
}
