using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests.Support;

public static class AuditQueries
{
    /// <summary>How many audit events of this action the subject has.</summary>
    public static Task<int> CountAsync(this ExchangeFixture system, string subject, string action) =>
        system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(a => a.Subject == subject && a.Action == action));

    public static Task<List<string>> ActionsAsync(this ExchangeFixture system, string subject) =>
        system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Subject == subject).OrderBy(a => a.Seq).Select(a => a.Action).ToListAsync());
}
