using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class MemberRoleConfiguration : IEntityTypeConfiguration<MemberRole>
{
    public void Configure(EntityTypeBuilder<MemberRole> e)
    {
        e.ToTable("member_roles");
        e.HasKey(r => new { r.MemberId, r.Role });
        e.Property(r => r.Role).HasMaxLength(32);
        e.Property(r => r.Source).HasMaxLength(32);
        e.HasIndex(r => r.Role);
        e.HasOne<Member>().WithMany().HasForeignKey(r => r.MemberId);
    }
}
