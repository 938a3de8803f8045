using Hangfire.Dashboard;

namespace Exchange.Api.Common.Http;

/// <summary>
/// The Hangfire dashboard is for operators only. Hangfire's default filter admits local requests
/// from anyone, which behind a proxy means everyone; this replaces it.
/// </summary>
public sealed class OperatorDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var user = context.GetHttpContext().User;
        return user.Identity?.IsAuthenticated == true && user.IsInRole(Roles.Operator);
    }
}
