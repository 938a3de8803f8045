using Exchange.Domain.Members;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class MemberConfiguration : IEntityTypeConfiguration<Member>
{
    public void Configure(EntityTypeBuilder<Member> e)
    {
        e.ToTable("members", t => t.HasCheckConstraint("ck_members_handle_format", "handle ~ '^EX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'"));
        e.HasKey(m => m.Id);
        e.HasIndex(m => m.Subject).IsUnique();
        e.HasIndex(m => m.Email);
        e.HasIndex(m => m.Handle).IsUnique();
        e.Property(m => m.Handle).HasMaxLength(AccountHandle.Length);
        e.Property(m => m.Subject).HasMaxLength(255);
        e.Property(m => m.Name).HasMaxLength(255);
        e.Property(m => m.Email).HasMaxLength(320);
    }
}
