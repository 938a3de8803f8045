namespace VivoKey.Simulator.Validation;

/// <summary>How the simulator answers a Validation API POST.</summary>
public enum PostFault
{
    None,
    Error500,
    Error503,
    /// <summary>Keeps the request open, answering nothing, until the client gives up.</summary>
    Hang,
    /// <summary>The challenge is made as if accepted, but the POST gets a bare 502, as when a proxy loses the answer.</summary>
    AnswerLost,
}

/// <summary>What the simulator does with a challenge's callback.</summary>
public enum CallbackFault
{
    None,
    /// <summary>The callback is never sent (the real service never re-sends a lost one).</summary>
    Never,
    /// <summary>The same callback is sent twice.</summary>
    Twice,
    /// <summary>The member acts at once and the callback is delivered before the POST is answered.</summary>
    BeforeResponse,
    /// <summary>The callback is sent LateSeconds (simulator clock) after the member acted or the deadline passed.</summary>
    Late,
}

/// <summary>The faults one challenge gets.</summary>
public sealed record FaultPlan
{
    public PostFault Post { get; init; }
    public CallbackFault Callback { get; init; }
    public int LateSeconds { get; init; } = 120;

    /// <summary>With BeforeResponse: what the member does at once, tap (default) or decline.</summary>
    public bool BeforeResponseDeclines { get; init; }

    /// <summary>With Hang: the longest the request is held, in real seconds.</summary>
    public int HangSeconds { get; init; } = 300;

    /// <summary>
    /// Token problems answered by status alone (401 empty, 403 text/html), as a framework's
    /// authentication layer would, instead of the reference's JSON. Only the run plan's value
    /// counts: a token is checked before the member, and so any rule, is known.
    /// </summary>
    public bool TokenErrorsAsStatus { get; init; }

    public static FaultPlan NoFaults { get; } = new();
}

/// <summary>A fault plan for the next challenges that match; Remaining null means every one.</summary>
public sealed record FaultRule
{
    public string? Member { get; init; }
    public string? ClientId { get; init; }
    public int? Remaining { get; init; } = 1;
    public FaultPlan Plan { get; init; } = FaultPlan.NoFaults;
}

/// <summary>
/// The faults in force: the run's plan (from configuration, replaceable at run time) and
/// rules for particular challenges, taken in the order they were added.
/// </summary>
public sealed class FaultRules(SimulatorOptions options)
{
    private readonly Lock _gate = new();
    private readonly List<FaultRule> _rules = [];
    private FaultPlan _runPlan = options.Faults ?? FaultPlan.NoFaults;

    public FaultPlan RunPlan
    {
        get { lock (_gate) { return _runPlan; } }
        set { lock (_gate) { _runPlan = value; } }
    }

    public IReadOnlyList<FaultRule> Rules
    {
        get { lock (_gate) { return _rules.ToList(); } }
    }

    public void Add(FaultRule rule)
    {
        lock (_gate) { _rules.Add(rule); }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            _runPlan = FaultPlan.NoFaults;
        }
    }

    /// <summary>The plan for a new challenge request; a matching rule is used up by it.</summary>
    public FaultPlan Take(string clientId, string member)
    {
        lock (_gate)
        {
            for (var i = 0; i < _rules.Count; i++)
            {
                var rule = _rules[i];
                if ((rule.Member is null || rule.Member == member) && (rule.ClientId is null || rule.ClientId == clientId))
                {
                    if (rule.Remaining is { } remaining)
                    {
                        if (remaining <= 1)
                        {
                            _rules.RemoveAt(i);
                        }
                        else
                        {
                            _rules[i] = rule with { Remaining = remaining - 1 };
                        }
                    }

                    return rule.Plan;
                }
            }

            return _runPlan;
        }
    }
}
