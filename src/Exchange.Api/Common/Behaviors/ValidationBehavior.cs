using FluentValidation;
using Mediator;

namespace Exchange.Api.Common.Behaviors;

/// <summary>Every message with validators is validated before its handler runs; failures become 400 problem details.</summary>
public sealed class ValidationBehavior<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    /// <summary>The longest Idempotency-Key kept (the column's width); a longer one is refused, not truncated.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var failures = new List<FluentValidation.Results.ValidationFailure>();
        // Every command that takes the header, in one place: named as the header, not as the command's property.
        if (message is IIdempotent { IdempotencyKey.Length: > MaxIdempotencyKeyLength })
        {
            failures.Add(new("Idempotency-Key", $"The Idempotency-Key header is limited to {MaxIdempotencyKeyLength} characters."));
        }

        if (message is IIdempotent idempotent && PlainText.HasControlCharacters(idempotent.IdempotencyKey))
        {
            failures.Add(new("Idempotency-Key", PlainText.Refusal("Idempotency-Key header")));
        }

        foreach (var validator in validators)
        {
            var result = await validator.ValidateAsync(message, cancellationToken);
            failures.AddRange(result.Errors);
        }

        if (failures.Count > 0)
        {
            throw new ValidationException(failures);
        }

        return await next(message, cancellationToken);
    }
}
