namespace Exchange.Api.Common;

/// <summary>Who is staff: VivoKey subjects granted a role by configuration.</summary>
public sealed class RoleOptions
{
    public const string Section = "Roles";

    /// <summary>VivoKey subjects granted the compliance role.</summary>
    public List<string> Compliance { get; set; } = [];

    /// <summary>VivoKey subjects granted the operator role (the Hangfire dashboard).</summary>
    public List<string> Operators { get; set; } = [];

    /// <summary>
    /// Entries that are not a VivoKey subject (they contain <c>@</c>: an email). VivoKey does not verify the email it
    /// gives, so anyone could claim a staff member's: such an entry grants nothing, and outside Development and
    /// Testing the exchange refuses to start with one.
    /// </summary>
    public IEnumerable<(string Setting, string Entry)> NotSubjects() =>
        Compliance.Where(e => !IsSubject(e)).Select(e => ($"{Section}:{nameof(Compliance)}", e))
            .Concat(Operators.Where(e => !IsSubject(e)).Select(e => ($"{Section}:{nameof(Operators)}", e)));

    /// <summary>VivoKey's subjects are opaque ids without <c>@</c>; an entry with one is an email.</summary>
    public static bool IsSubject(string entry) => !entry.Contains('@', StringComparison.Ordinal);
}
