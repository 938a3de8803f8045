using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>The owner cancels a withdrawal still waiting for the tap; the held funds come back.</summary>
public static class CancelWithdrawal
{
    public sealed record Command(Guid MemberId, Guid Id, string? IdempotencyKey) : ICommand<Response>, IIdempotent
    {
        public string Operation => "withdrawals.cancel";
    }

    public sealed record Response(Guid Id, string Status);

    public sealed class Handler(ExchangeDbContext db, RequestOutcomes outcomes) : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            // The challenge first, then the withdrawal: a callback or the reconciler racing this cancel waits, then finds it ended.
            var challenge = await db.LockChallengeOfRequestAsync(command.Id, cancellationToken);
            var withdrawal = await db.LockWithdrawalAsync(command.Id, cancellationToken)
                ?? throw new NotFoundException("No withdrawal has that id.");
            if (withdrawal.MemberId != command.MemberId)
            {
                throw new ForbiddenException("This withdrawal belongs to another member.");
            }

            if (withdrawal.Status != RequestStatus.PendingApproval)
            {
                throw new ConflictException($"Only a withdrawal waiting for approval can be cancelled; this one is {withdrawal.Status.ToWire()}.");
            }

            await outcomes.EndAsync(withdrawal, challenge, RequestStatus.Cancelled, "Cancelled by the member.", cancellationToken);
            return new Response(withdrawal.Id, withdrawal.Status.ToWire());
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/api/withdrawals/{id:guid}/cancel", async (Guid id, HttpContext http, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Command(http.User.MemberId(), id, http.Request.Headers["Idempotency-Key"].FirstOrDefault()))))
            .RequireAuthorization().LimitedAs(RateLimitedAs.Money)
            .WithTags("Withdrawals").WithSummary("Cancel a withdrawal while it waits for the tap");
}
