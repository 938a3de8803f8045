namespace Exchange.Domain.Common;

/// <summary>
/// What a tap approves: a trader's withdrawal or transfer, or an operator's action. Stored, logged, tagged and
/// written in audit subjects (<c>withdrawal:&lt;id&gt;</c>) as the snake_case name: use <see cref="RequestKinds.ToWire"/>
/// wherever it becomes text, as an enum formats as its C# name.
/// </summary>
public enum RequestKind
{
    Withdrawal,
    Transfer,
    OperatorAction,
}

public static class RequestKinds
{
    public static string ToWire(this RequestKind kind) => kind switch
    {
        RequestKind.Withdrawal => "withdrawal",
        RequestKind.Transfer => "transfer",
        RequestKind.OperatorAction => "operator_action",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown request kind."),
    };

    public static bool TryParse(string? wire, out RequestKind kind)
    {
        (var known, kind) = wire switch
        {
            "withdrawal" => (true, RequestKind.Withdrawal),
            "transfer" => (true, RequestKind.Transfer),
            "operator_action" => (true, RequestKind.OperatorAction),
            _ => (false, default),
        };
        return known;
    }

    public static RequestKind Parse(string wire) =>
        TryParse(wire, out var kind) ? kind : throw new FormatException($"Unknown request kind '{wire}'.");
}
