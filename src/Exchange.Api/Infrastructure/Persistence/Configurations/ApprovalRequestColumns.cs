using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

/// <summary>The columns withdrawals and transfers share, and how money is stored.</summary>
internal static class ApprovalRequestColumns
{
    private static readonly ValueConverter<RequestStatus, string> Status = new(s => s.ToWire(), s => RequestStatuses.Parse(s));

    /// <summary>A request kind is stored as its wire name ("withdrawal", "transfer", "operator_action").</summary>
    public static readonly ValueConverter<RequestKind, string> Kind = new(k => k.ToWire(), s => RequestKinds.Parse(s));

    /// <summary>Wei fits in 78 decimal digits (2^256); BigInteger maps to numeric.</summary>
    public static PropertyBuilder<T> IsMoney<T>(this PropertyBuilder<T> property) => property.HasColumnType("numeric(78,0)");

    public static void ConfigureApprovalRequest<T>(this EntityTypeBuilder<T> e)
        where T : ApprovalRequest
    {
        e.HasKey(r => r.Id);
        e.Property(r => r.Status).HasConversion(Status).HasMaxLength(32);
        e.Property(r => r.Asset).HasMaxLength(16);
        e.Property(r => r.Amount).IsMoney();
        e.Property(r => r.Version).IsRowVersion();
        e.Ignore(r => r.PendingChanges);
        e.Ignore(r => r.Kind);
        e.Ignore(r => r.AuditSubject);
        e.HasIndex(r => new { r.MemberId, r.CreatedAt });
        e.HasIndex(r => new { r.Status, r.UpdatedAt });
        e.HasOne<Member>().WithMany().HasForeignKey(r => r.MemberId);
    }
}
