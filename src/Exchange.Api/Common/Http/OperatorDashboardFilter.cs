using Hangfire.Dashboard;

namespace Exchange.Api.Common.Http;

/// <summary>
/// The Hangfire dashboard: operators act on jobs; compliance may look, read-only. Hangfire's default
/// filter admits local requests from anyone, which behind a proxy means everyone; this replaces it.
/// </summary>
public sealed class OperatorDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var user = context.GetHttpContext().User;
        return user.Identity?.IsAuthenticated == true && (user.IsInRole(Roles.Operator) || user.IsInRole(Roles.Compliance));
    }

    /// <summary>Everyone but an operator sees no buttons, and Hangfire refuses their posts.</summary>
    public static bool IsReadOnly(DashboardContext context) => !context.GetHttpContext().User.IsInRole(Roles.Operator);
}
