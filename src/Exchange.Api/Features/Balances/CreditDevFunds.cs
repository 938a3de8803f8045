using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using FluentValidation;
using Mediator;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Balances;

/// <summary>
/// Credits the caller funds from nothing, for demos, tests and the bench. Mapped only where
/// Exchange:DevCreditEndpoint is on: by default in Development only; Production refuses to start with it on.
/// </summary>
public static class CreditDevFunds
{
    public sealed record Body(string? Asset, string? Amount);

    public sealed record Command(Guid MemberId, string? Asset, string? Amount, string? IdempotencyKey) : ICommand<Response>, IIdempotent
    {
        public string Operation => "dev.credit";
    }

    public sealed record Response(string Asset, string Credited);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            this.AssetAndAmount(c => c.Asset, c => c.Amount);
        }
    }

    public sealed class Handler(ExchangeDbContext db, LedgerPostings ledger, TimeProvider clock) : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            var asset = Asset.Find(command.Asset)!;
            var amount = Amounts.Parse(command.Amount!, asset);
            await ledger.CreditAsync(command.MemberId, asset, amount, cancellationToken);
            db.Audit("balance.dev_credit", $"member:{command.MemberId}", new { asset = asset.Code, amount = Amounts.Format(amount, asset) }, clock.GetUtcNow());
            return new Response(asset.Code, Amounts.Format(amount, asset));
        }
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/dev/credit", async (Body body, HttpContext http, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Command(http.User.MemberId(), body.Asset, body.Amount, http.Request.Headers["Idempotency-Key"].FirstOrDefault()))))
            .RequireAuthorization().LimitedAs(RateLimitedAs.Money)
            .WithTags("Balances").WithSummary("Credit the caller (development only)")
            .WithDescription("For demos and tests; mapped only where Exchange:DevCreditEndpoint is on (by default in Development only), refused in Production.");
        // The trader page shows its "test funds" form only where this answers.
        app.MapGet("/api/dev", () => new { credit = "/api/dev/credit" }).RequireAuthorization()
            .WithTags("Balances").WithSummary("Whether the development credit is on (development only)")
            .WithDescription("Answers `{ credit: \"/api/dev/credit\" }` where that endpoint is mapped, 404 elsewhere.");
    }
}
