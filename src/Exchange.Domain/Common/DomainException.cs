namespace Exchange.Domain.Common;

/// <summary>A rule of the domain refused an operation; Code is machine-readable.</summary>
public class DomainException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

public sealed class InvalidTransitionException(string subject, RequestStatus from, RequestStatus to)
    : DomainException("invalid_transition", $"{subject} cannot move from {from.ToWire()} to {to.ToWire()}.")
{
    public RequestStatus From { get; } = from;
    public RequestStatus To { get; } = to;
}

public sealed class InsufficientFundsException(string asset)
    : DomainException("insufficient_funds", $"The available {asset} balance is lower than the amount.");
