using System.Diagnostics;
using Mediator;

namespace Exchange.Api.Common.Behaviors;

/// <summary>Logs each message's name and duration; failures are logged where they are handled.</summary>
public sealed class LoggingBehavior<TMessage, TResponse>(ILogger<LoggingBehavior<TMessage, TResponse>> logger)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await next(message, cancellationToken);
        }
        finally
        {
            logger.LogDebug("{Message} took {Elapsed} ms", typeof(TMessage).FullName, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
