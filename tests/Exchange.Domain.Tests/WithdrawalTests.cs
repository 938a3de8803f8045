using System.Numerics;
using Exchange.Domain.Common;
using Exchange.Domain.Withdrawals;

namespace Exchange.Domain.Tests;

public class WithdrawalTests
{
    private const string Address = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F";
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly BigInteger OneEth = BigInteger.Pow(10, 18);
    private static readonly Guid Id = Guid.Parse("7d3c8f0e-2b7a-4c55-9b1e-0f6a5d8c4e21");
    private static readonly Guid Member = Guid.Parse("0b9a2f6c-5d4e-4f3a-8c2b-1e0d9f8a7b6c");

    private static readonly RequestStatus[] Releasing =
    [
        RequestStatus.Declined, RequestStatus.Expired, RequestStatus.TokenExpired,
        RequestStatus.Rejected, RequestStatus.Cancelled, RequestStatus.Failed,
    ];

    private static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    private static Withdrawal NewWithdrawal() => new(Id, Member, Asset.Eth, OneEth, Address, T0);

    /// <summary>Every way a withdrawal can stand, each reached through the guarded transitions only.</summary>
    private static readonly Dictionary<string, Action<Withdrawal>> Paths = new(StringComparer.Ordinal)
    {
        ["pending_approval"] = _ => { },
        ["approved"] = w => w.Approve(At(1)),
        ["signed"] = w => { w.Approve(At(1)); w.MarkSigned(7, "0xraw", "0xhash", At(2)); },
        ["broadcast"] = w => { w.Approve(At(1)); w.MarkSigned(7, "0xraw", "0xhash", At(2)); w.MarkBroadcast(At(3)); },
        ["confirmed"] = w => { w.Approve(At(1)); w.MarkSigned(7, "0xraw", "0xhash", At(2)); w.MarkBroadcast(At(3)); w.MarkConfirmed("0xhash", 100, 12, At(4)); },
        ["reverted"] = w => { w.Approve(At(1)); w.MarkSigned(7, "0xraw", "0xhash", At(2)); w.MarkBroadcast(At(3)); w.MarkReverted("0xhash", 100, At(4)); },
        ["declined"] = w => w.End(RequestStatus.Declined, At(1), "declined"),
        ["expired"] = w => w.End(RequestStatus.Expired, At(1), "timeout"),
        ["token_expired"] = w => w.End(RequestStatus.TokenExpired, At(1), "token-expired"),
        ["rejected"] = w => w.End(RequestStatus.Rejected, At(1), "not accepted"),
        ["cancelled"] = w => w.End(RequestStatus.Cancelled, At(1)),
        ["failed"] = w => w.End(RequestStatus.Failed, At(1), "unreachable"),
        ["failed_after_approval"] = w => { w.Approve(At(1)); w.End(RequestStatus.Failed, At(2), "no funds in the hot wallet"); },
        ["tampered"] = w => { w.Approve(At(1)); w.MarkTampered("evidence", At(2)); },
    };

    private sealed record Operation(RequestStatus? To, RequestStatus[] AllowedFrom, Action<Withdrawal> Apply);

    /// <summary>The step each operation expects (ARCHITECTURE.md "States"); To is null when the status stays.</summary>
    private static readonly Dictionary<string, Operation> Operations = new Dictionary<string, Operation>(StringComparer.Ordinal)
    {
        ["Approve"] = new(RequestStatus.Approved, [RequestStatus.PendingApproval], w => w.Approve(At(10))),
        ["MarkSigned"] = new(RequestStatus.Signed, [RequestStatus.Approved], w => w.MarkSigned(9, "0xraw2", "0xhash2", At(10))),
        ["MarkBroadcast"] = new(RequestStatus.Broadcast, [RequestStatus.Signed], w => w.MarkBroadcast(At(10))),
        // Signed → confirmed too: the broadcast may have gone out before a crash stored it.
        ["MarkConfirmed"] = new(RequestStatus.Confirmed, [RequestStatus.Signed, RequestStatus.Broadcast], w => w.MarkConfirmed("0xmined", 200, 12, At(10))),
        ["MarkReverted"] = new(RequestStatus.Failed, [RequestStatus.Signed, RequestStatus.Broadcast], w => w.MarkReverted("0xmined", 200, At(10))),
        ["Replace"] = new(null, [RequestStatus.Signed, RequestStatus.Broadcast], w => w.Replace("0xraw3", "0xhash3", At(10))),
        // Only an approval can be refused for its evidence, and a tampered request is never released by itself.
        ["MarkTampered"] = new(RequestStatus.Tampered, [RequestStatus.Approved], w => w.MarkTampered("evidence", At(10))),
    }
    .Concat(Releasing.Select(outcome => new KeyValuePair<string, Operation>(
        $"End({outcome.ToWire()})",
        new(outcome, outcome == RequestStatus.Failed ? [RequestStatus.PendingApproval, RequestStatus.Approved] : [RequestStatus.PendingApproval],
            w => w.End(outcome, At(10), "ended")))))
    .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static Withdrawal In(string path)
    {
        var withdrawal = NewWithdrawal();
        Paths[path](withdrawal);
        return withdrawal;
    }

    private static bool IsAllowed(string path, string operation) => Operations[operation].AllowedFrom.Contains(In(path).Status);

    public static TheoryData<string, string> RefusedTransitions()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in Paths.Keys)
        {
            foreach (var operation in Operations.Keys.Where(o => !IsAllowed(path, o)))
            {
                data.Add(path, operation);
            }
        }

        return data;
    }

    public static TheoryData<string, string> AllowedTransitions()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in Paths.Keys)
        {
            foreach (var operation in Operations.Keys.Where(o => IsAllowed(path, o)))
            {
                data.Add(path, operation);
            }
        }

        return data;
    }

    public static TheoryData<RequestStatus> ReleasingOutcomes() => new(Releasing);

    public static TheoryData<RequestStatus> NonReleasingOutcomes() =>
        new(Enum.GetValues<RequestStatus>().Where(s => !Releasing.Contains(s)));

    /// <summary>Everything a transition could touch, to show a refused one touched nothing.</summary>
    private static object?[] Snapshot(Withdrawal w) =>
    [
        w.Status, w.PendingChanges.Count, w.UpdatedAt, w.Error, w.Nonce, w.RawTransaction, w.TxHash,
        w.BlockNumber, w.Confirmations, w.Amount, w.ToAddress,
    ];

    [Fact]
    public void A_new_withdrawal_waits_for_approval_with_nothing_recorded()
    {
        var w = NewWithdrawal();

        Assert.Equal(Id, w.Id);
        Assert.Equal(Member, w.MemberId);
        Assert.Equal("ETH", w.Asset);
        Assert.Equal(OneEth, w.Amount);
        Assert.Equal(Address, w.ToAddress);
        Assert.Equal(RequestStatus.PendingApproval, w.Status);
        Assert.Equal(T0, w.CreatedAt);
        Assert.Equal(T0, w.UpdatedAt);
        Assert.Null(w.Error);
        Assert.Null(w.Nonce);
        Assert.Null(w.TxHash);
        Assert.Null(w.RawTransaction);
        Assert.Empty(w.PendingChanges);
        Assert.Equal("withdrawal", w.Kind.ToWire());
        Assert.Equal($"withdrawal:{Id}", w.AuditSubject);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void A_zero_or_negative_amount_is_refused(long amount)
    {
        var error = Assert.Throws<DomainException>(() => new Withdrawal(Id, Member, Asset.Eth, amount, Address, T0));
        Assert.Equal("invalid_amount", error.Code);
    }

    [Fact]
    public void One_wei_is_a_valid_amount()
    {
        Assert.Equal(BigInteger.One, new Withdrawal(Id, Member, Asset.Eth, BigInteger.One, Address, T0).Amount);
    }

    [Fact]
    public void The_happy_path_records_one_status_change_per_step()
    {
        var w = NewWithdrawal();

        w.Approve(At(1));
        w.MarkSigned(42, "0x02f8raw", "0xabc", At(2));
        w.MarkBroadcast(At(3));
        w.MarkConfirmed("0xabc", 1234, 12, At(4));

        Assert.Equal(
            [
                new StatusChange(RequestStatus.PendingApproval, RequestStatus.Approved, At(1), null),
                new StatusChange(RequestStatus.Approved, RequestStatus.Signed, At(2), null),
                new StatusChange(RequestStatus.Signed, RequestStatus.Broadcast, At(3), null),
                new StatusChange(RequestStatus.Broadcast, RequestStatus.Confirmed, At(4), null),
            ],
            w.PendingChanges);
        Assert.Equal(RequestStatus.Confirmed, w.Status);
        Assert.Equal(At(4), w.UpdatedAt);
        Assert.Equal(T0, w.CreatedAt);
        Assert.Equal(42, w.Nonce);
        Assert.Equal("0x02f8raw", w.RawTransaction);
        Assert.Equal("0xabc", w.TxHash);
        Assert.Equal(1234, w.BlockNumber);
        Assert.Equal(12, w.Confirmations);
        Assert.Null(w.Error);
    }

    [Fact]
    public void Each_step_moves_the_status_and_the_update_time()
    {
        var w = NewWithdrawal();

        w.Approve(At(1));
        Assert.Equal((RequestStatus.Approved, At(1)), (w.Status, w.UpdatedAt));
        w.MarkSigned(1, "0xraw", "0xh", At(2));
        Assert.Equal((RequestStatus.Signed, At(2)), (w.Status, w.UpdatedAt));
        w.MarkBroadcast(At(3));
        Assert.Equal((RequestStatus.Broadcast, At(3)), (w.Status, w.UpdatedAt));
        w.MarkConfirmed("0xh", 9, 3, At(4));
        Assert.Equal((RequestStatus.Confirmed, At(4)), (w.Status, w.UpdatedAt));
    }

    [Theory]
    [MemberData(nameof(RefusedTransitions))]
    public void A_transition_from_a_wrong_state_throws_and_changes_nothing(string path, string operation)
    {
        var w = In(path);
        var before = Snapshot(w);
        var changesBefore = w.PendingChanges.ToArray();
        var op = Operations[operation];

        var error = Assert.Throws<InvalidTransitionException>(() => op.Apply(w));

        Assert.Equal("invalid_transition", error.Code);
        Assert.Equal(before[0], error.From);
        Assert.Equal(op.To ?? w.Status, error.To);
        Assert.Equal(before, Snapshot(w));
        Assert.Equal(changesBefore, w.PendingChanges);
    }

    [Theory]
    [MemberData(nameof(AllowedTransitions))]
    public void A_transition_from_the_state_it_expects_records_exactly_one_change(string path, string operation)
    {
        var w = In(path);
        var from = w.Status;
        var count = w.PendingChanges.Count;
        var op = Operations[operation];

        op.Apply(w);

        if (op.To is { } to)
        {
            Assert.Equal(to, w.Status);
            Assert.Equal(count + 1, w.PendingChanges.Count);
            var change = w.PendingChanges[^1];
            Assert.Equal(from, change.From);
            Assert.Equal(to, change.To);
            Assert.Equal(At(10), change.At);
            Assert.Equal(At(10), w.UpdatedAt);
        }
        else
        {
            Assert.Equal(from, w.Status);
            Assert.Equal(count, w.PendingChanges.Count);
        }
    }

    [Fact]
    public void The_transition_table_covers_every_state_and_operation()
    {
        // 14 paths × 13 operations, split between the two theories above.
        Assert.Equal(14 * 13, RefusedTransitions().Count + AllowedTransitions().Count);
        Assert.Equal(
            Enum.GetValues<RequestStatus>().Order(),
            Paths.Keys.Select(In).Select(w => w.Status).Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(ReleasingOutcomes))]
    public void A_pending_withdrawal_can_end_with_each_releasing_outcome(RequestStatus outcome)
    {
        var w = NewWithdrawal();

        w.End(outcome, At(5), "why");

        Assert.Equal(outcome, w.Status);
        Assert.Equal("why", w.Error);
        Assert.Equal(At(5), w.UpdatedAt);
        var change = Assert.Single(w.PendingChanges);
        Assert.Equal(new StatusChange(RequestStatus.PendingApproval, outcome, At(5), "why"), change);
    }

    [Fact]
    public void Ending_without_an_error_leaves_the_error_empty()
    {
        var w = NewWithdrawal();

        w.End(RequestStatus.Cancelled, At(1));

        Assert.Null(w.Error);
        Assert.Null(Assert.Single(w.PendingChanges).Error);
    }

    [Fact]
    public void An_approved_withdrawal_may_still_fail_and_release()
    {
        var w = NewWithdrawal();
        w.Approve(At(1));

        w.End(RequestStatus.Failed, At(2), "hot wallet empty");

        Assert.Equal(RequestStatus.Failed, w.Status);
        Assert.Equal("hot wallet empty", w.Error);
        Assert.Equal(new StatusChange(RequestStatus.Approved, RequestStatus.Failed, At(2), "hot wallet empty"), w.PendingChanges[^1]);
    }

    [Theory]
    [InlineData(RequestStatus.Declined)]
    [InlineData(RequestStatus.Expired)]
    [InlineData(RequestStatus.TokenExpired)]
    [InlineData(RequestStatus.Rejected)]
    [InlineData(RequestStatus.Cancelled)]
    public void An_approved_withdrawal_cannot_end_any_other_way_than_failed(RequestStatus outcome)
    {
        var w = NewWithdrawal();
        w.Approve(At(1));

        var error = Assert.Throws<InvalidTransitionException>(() => w.End(outcome, At(2)));

        Assert.Equal(RequestStatus.Approved, error.From);
        Assert.Equal(outcome, error.To);
        Assert.Equal(RequestStatus.Approved, w.Status);
        Assert.Single(w.PendingChanges);
    }

    [Theory]
    [MemberData(nameof(NonReleasingOutcomes))]
    public void Ending_with_a_status_that_does_not_release_is_refused(RequestStatus outcome)
    {
        var w = NewWithdrawal();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => w.End(outcome, At(1)));

        Assert.Equal("outcome", error.ParamName);
        Assert.Equal(RequestStatus.PendingApproval, w.Status);
        Assert.Empty(w.PendingChanges);
        Assert.Equal(T0, w.UpdatedAt);
    }

    [Theory]
    [InlineData("signed")]
    [InlineData("broadcast")]
    [InlineData("confirmed")]
    public void Once_signed_the_funds_are_never_released(string path)
    {
        var w = In(path);
        var before = Snapshot(w);

        foreach (var outcome in Releasing)
        {
            Assert.Throws<InvalidTransitionException>(() => w.End(outcome, At(10), "too late"));
        }

        Assert.Equal(before, Snapshot(w));
    }

    [Theory]
    [InlineData("signed")]
    [InlineData("broadcast")]
    public void A_reverted_transaction_fails_the_withdrawal(string path)
    {
        var w = In(path);
        var from = w.Status;

        w.MarkReverted("0xmined", 555, At(9));

        Assert.Equal(RequestStatus.Failed, w.Status);
        Assert.Equal("The transaction was mined but reverted.", w.Error);
        Assert.Equal("0xmined", w.TxHash);
        Assert.Equal(555, w.BlockNumber);
        Assert.Equal(At(9), w.UpdatedAt);
        Assert.Equal(new StatusChange(from, RequestStatus.Failed, At(9), "The transaction was mined but reverted."), w.PendingChanges[^1]);
    }

    [Fact]
    public void Confirming_records_the_hash_that_was_mined_not_the_one_first_signed()
    {
        var w = In("broadcast");
        w.Replace("0xraw-replacement", "0xreplacement", At(5));

        w.MarkConfirmed("0xhash", 321, 12, At(6));

        Assert.Equal("0xhash", w.TxHash);
        Assert.Equal("0xraw-replacement", w.RawTransaction);
        Assert.Equal(7, w.Nonce);
    }

    [Theory]
    [InlineData("signed")]
    [InlineData("broadcast")]
    public void A_replacement_becomes_the_transaction_in_force_without_a_status_change(string path)
    {
        var w = In(path);
        var status = w.Status;
        var changes = w.PendingChanges.Count;
        var updatedAt = w.UpdatedAt;

        w.Replace("0xraw-higher-fees", "0xnewhash", At(9));

        Assert.Equal("0xraw-higher-fees", w.RawTransaction);
        Assert.Equal("0xnewhash", w.TxHash);
        Assert.Equal(7, w.Nonce);
        Assert.Equal(status, w.Status);
        Assert.Equal(changes, w.PendingChanges.Count);
        Assert.Equal(updatedAt, w.UpdatedAt);
    }

    [Fact]
    public void Observing_confirmations_records_depth_without_moving_the_status()
    {
        var w = In("broadcast");

        w.ObserveConfirmations(100, 3);

        Assert.Equal(RequestStatus.Broadcast, w.Status);
        Assert.Equal(100, w.BlockNumber);
        Assert.Equal(3, w.Confirmations);
        Assert.Equal(3, w.PendingChanges.Count);
    }

    [Fact]
    public void Signing_keeps_the_nonce_the_raw_bytes_and_the_hash()
    {
        var w = In("approved");

        w.MarkSigned(long.MaxValue, "0x02f8", "0xdead", At(2));

        Assert.Equal(long.MaxValue, w.Nonce);
        Assert.Equal("0x02f8", w.RawTransaction);
        Assert.Equal("0xdead", w.TxHash);
    }

    [Fact]
    public void Clearing_pending_changes_forgets_only_what_was_already_recorded()
    {
        var w = NewWithdrawal();
        w.Approve(At(1));
        w.MarkSigned(1, "0xraw", "0xh", At(2));
        Assert.Equal(2, w.PendingChanges.Count);

        w.ClearPendingChanges();

        Assert.Empty(w.PendingChanges);
        Assert.Equal(RequestStatus.Signed, w.Status);

        w.MarkBroadcast(At(3));

        Assert.Equal(new StatusChange(RequestStatus.Signed, RequestStatus.Broadcast, At(3), null), Assert.Single(w.PendingChanges));
    }

    [Fact]
    public void The_invalid_transition_message_names_the_subject_and_both_wire_states()
    {
        var w = In("confirmed");

        var error = Assert.Throws<InvalidTransitionException>(() => w.End(RequestStatus.Cancelled, At(9)));

        Assert.Equal($"withdrawal:{Id} cannot move from confirmed to cancelled.", error.Message);
    }
}
