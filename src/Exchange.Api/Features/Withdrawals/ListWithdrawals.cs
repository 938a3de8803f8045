using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>The member's own withdrawals, newest first, a page at a time.</summary>
public static class ListWithdrawals
{
    public sealed record Query(Guid MemberId, string? Status, int Page, int PageSize) : IQuery<Page>;

    public sealed record Page(IReadOnlyList<GetWithdrawal.View> Items, int PageNumber, int PageSize, int Total);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Status).Must(s => s is null || RequestStatuses.TryParse(s, out _))
                .WithMessage(q => $"'{PlainText.Printable(q.Status)}' is not a status.");
            RuleFor(q => q.Page).GreaterThanOrEqualTo(1);
            RuleFor(q => q.PageSize).InclusiveBetween(1, 100);
        }
    }

    public sealed class Handler(ExchangeDbContext db) : IQueryHandler<Query, Page>
    {
        public async ValueTask<Page> Handle(Query query, CancellationToken cancellationToken)
        {
            var mine = db.Withdrawals.AsNoTracking().Where(w => w.MemberId == query.MemberId);
            if (query.Status is not null)
            {
                var status = RequestStatuses.Parse(query.Status);
                mine = mine.Where(w => w.Status == status);
            }

            var total = await mine.CountAsync(cancellationToken);
            var items = await mine.OrderByDescending(w => w.CreatedAt).ThenByDescending(w => w.Id)
                .Skip((query.Page - 1) * query.PageSize).Take(query.PageSize)
                .ToListAsync(cancellationToken);
            return new Page(items.Select(w => GetWithdrawal.ToView(w, [])).ToList(), query.Page, query.PageSize, total);
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/withdrawals", async (string? status, int? page, int? pageSize, HttpContext http, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Query(http.User.MemberId(), status, page ?? 1, pageSize ?? 20)))).RequireAuthorization()
            .WithTags("Withdrawals").WithSummary("The member's own withdrawals, newest first, paged");
}
