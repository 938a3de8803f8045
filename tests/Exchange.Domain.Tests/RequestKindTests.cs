using System.Numerics;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;
using Exchange.Domain.Transfers;
using Exchange.Domain.Withdrawals;

namespace Exchange.Domain.Tests;

/// <summary>The request kinds' wire names are stored in challenges and operator actions and written in audit subjects: they never change.</summary>
public class RequestKindTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("7d3c8f0e-2b7a-4c55-9b1e-0f6a5d8c4e21");
    private static readonly Guid Member = Guid.Parse("0b9a2f6c-5d4e-4f3a-8c2b-1e0d9f8a7b6c");

    public static TheoryData<RequestKind> AllKinds() => new(Enum.GetValues<RequestKind>());

    [Theory]
    [InlineData(RequestKind.Withdrawal, "withdrawal")]
    [InlineData(RequestKind.Transfer, "transfer")]
    [InlineData(RequestKind.OperatorAction, "operator_action")]
    public void Each_kind_has_its_snake_case_wire_name(RequestKind kind, string wire)
    {
        Assert.Equal(wire, kind.ToWire());
        Assert.Equal(kind, RequestKinds.Parse(wire));
        Assert.True(RequestKinds.TryParse(wire, out var parsed));
        Assert.Equal(kind, parsed);
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void Every_kind_round_trips_through_its_wire_name(RequestKind kind)
    {
        Assert.Equal(kind, RequestKinds.Parse(kind.ToWire()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Withdrawal")]
    [InlineData("OperatorAction")]
    [InlineData("operator-action")]
    [InlineData(" transfer")]
    [InlineData("0")]
    public void An_unknown_wire_name_is_refused(string wire)
    {
        Assert.False(RequestKinds.TryParse(wire, out _));
        var error = Assert.Throws<FormatException>(() => RequestKinds.Parse(wire));
        Assert.Contains($"'{wire}'", error.Message, StringComparison.Ordinal);
        Assert.False(RequestKinds.TryParse(null, out _));
    }

    [Fact]
    public void Audit_subjects_name_the_kind_by_its_wire_name()
    {
        var withdrawal = new Withdrawal(Id, Member, Asset.Eth, BigInteger.One, "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", T0);
        var transfer = new Transfer(Id, Member, Asset.Eth, BigInteger.One, Guid.NewGuid(), T0);
        var action = new OperatorAction(Id, Member, "operator", OperatorActionKind.Cancel, RequestKind.Transfer, Id, "stuck", T0);

        Assert.Equal($"withdrawal:{Id}", withdrawal.AuditSubject);
        Assert.Equal($"transfer:{Id}", transfer.AuditSubject);
        Assert.Equal($"operator_action:{Id}", action.AuditSubject);
        Assert.Equal($"transfer:{Id}", action.TargetSubject);
    }
}
