using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Operations;

/// <summary>
/// An operator ends every session of a member at once (a stolen laptop, a cookie seen in a log): each copy
/// of their cookies gets 401 from its next request, on every instance. The member may sign in again.
/// </summary>
public static class RevokeMemberSessions
{
    public sealed record Command(string Subject) : ICommand<Response>, ITransactional;

    public sealed record Response(string Subject, int Revoked);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Subject).NotEmpty().MaximumLength(255).WithoutControlCharacters("subject");
    }

    public sealed class Handler(ExchangeDbContext db, TimeProvider clock) : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            var member = await db.Members.AsNoTracking().Where(m => m.Subject == command.Subject).Select(m => new { m.Id }).SingleOrDefaultAsync(cancellationToken)
                ?? throw new NotFoundException("No member has that subject.");
            var now = clock.GetUtcNow();
            var revoked = await MemberSessionStore.RevokeAllAsync(db, member.Id, now, cancellationToken);
            db.Audit("sessions.revoked", $"member:{member.Id}", new { subject = command.Subject, count = revoked }, now);
            return new Response(command.Subject, revoked);
        }
    }

    public static void Map(RouteGroupBuilder operations) =>
        operations.MapPost("/members/{subject}/sessions/revoke", async (string subject, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Command(subject))))
            .RequireAuthorization(policy => policy.RequireRole(Roles.Operator))
            .WithSummary("End every session of a member (operator)")
            .WithDescription("`{ subject, revoked }`; audited as `sessions.revoked`. 404 for an unknown subject.");
}
