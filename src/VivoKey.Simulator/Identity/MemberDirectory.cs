using System.Collections.Concurrent;

namespace VivoKey.Simulator.Identity;

public sealed record Member(string Subject, string Name, string Email);

/// <summary>The VivoKey members this simulator knows, seeded from configuration.</summary>
public sealed class MemberDirectory
{
    private readonly ConcurrentDictionary<string, Member> _bySubject = new(StringComparer.Ordinal);

    public MemberDirectory(SimulatorOptions options)
    {
        foreach (var member in options.Members)
        {
            Add(new Member(member.Subject, member.Name, member.Email));
        }
    }

    public IReadOnlyList<Member> All => _bySubject.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    public bool Add(Member member) => _bySubject.TryAdd(member.Subject, member);

    public Member? FindBySubject(string? subject) =>
        subject is not null && _bySubject.TryGetValue(subject, out var member) ? member : null;

    /// <summary>A login_hint may be the member's subject or email.</summary>
    public Member? FindByHint(string? hint)
    {
        if (string.IsNullOrWhiteSpace(hint))
        {
            return null;
        }

        hint = hint.Trim();
        return FindBySubject(hint)
            ?? _bySubject.Values.FirstOrDefault(m => string.Equals(m.Email, hint, StringComparison.OrdinalIgnoreCase));
    }
}
