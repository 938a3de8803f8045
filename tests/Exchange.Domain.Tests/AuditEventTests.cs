using Exchange.Domain.Audit;

namespace Exchange.Domain.Tests;

public class AuditEventTests
{
    [Fact]
    public void An_audit_event_keeps_who_did_what_to_which_subject_and_when()
    {
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var e = new AuditEvent(Actors.Member("sub-123"), "withdrawal.requested", "withdrawal:42", "{\"amount\":\"1\"}", at);

        Assert.Equal("member:sub-123", e.Actor);
        Assert.Equal("withdrawal.requested", e.Action);
        Assert.Equal("withdrawal:42", e.Subject);
        Assert.Equal("{\"amount\":\"1\"}", e.Data);
        Assert.Equal(at, e.At);
        Assert.Equal(0, e.Seq);
    }

    [Fact]
    public void The_fixed_actors_have_their_documented_names()
    {
        Assert.Equal("system", Actors.System);
        Assert.Equal("vivokey", Actors.VivoKey);
    }
}
