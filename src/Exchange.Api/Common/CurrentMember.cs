using System.Security.Claims;

namespace Exchange.Api.Common;

public static class ExchangeClaims
{
    public const string MemberId = "member_id";
    public const string Subject = "sub";

    /// <summary>The account handle the exchange issued (<see cref="Exchange.Domain.Members.AccountHandle"/>).</summary>
    public const string Handle = "handle";
    public const string Name = "name";
    public const string Email = "email";
    public const string Role = "role";
}

public static class Roles
{
    public const string Trader = "trader";
    public const string Compliance = "compliance";
    public const string Operator = "operator";
}

public static class ClaimsPrincipalExtensions
{
    public static Guid MemberId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ExchangeClaims.MemberId), out var id)
            ? id
            : throw new UnauthorizedAccessException("The session names no member.");

    public static string Subject(this ClaimsPrincipal user) =>
        user.FindFirstValue(ExchangeClaims.Subject) ?? throw new UnauthorizedAccessException("The session names no subject.");
}
