using System.Globalization;
using System.Text;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Audit;
using Microsoft.EntityFrameworkCore;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Audit;

/// <summary>The compliance officer's view of the audit trail: search, export, verify.</summary>
public static class AuditEndpoints
{
    public sealed record Line(long Seq, DateTimeOffset At, string Actor, string Action, string Subject, string Data, long? ChainSeq, string? Hash);

    public sealed record Page(IReadOnlyList<Line> Items, int PageNumber, int PageSize, int Total);

    public static void Map(IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/api/audit").RequireAuthorization(policy => policy.RequireRole(Roles.Compliance)).WithTags("Compliance");

        audit.MapGet("/", async (string? subject, string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to, int? page, int? pageSize, ExchangeDbContext db, CancellationToken ct) =>
        {
            PlainText.EnsureNoControlCharacters(("subject", subject), ("actor", actor), ("action", action));
            var size = Math.Clamp(pageSize ?? 50, 1, 500);
            var number = Math.Max(page ?? 1, 1);
            var events = Filter(db, subject, actor, action, from, to);
            var total = await events.CountAsync(ct);
            var items = await events.OrderByDescending(e => e.Seq).Skip((number - 1) * size).Take(size).ToListAsync(ct);
            return new Page(items.Select(ToLine).ToList(), number, size, total);
        }).WithSummary("Search the audit trail (compliance)").WithDescription("Filters: `subject`, `actor`, `action`, `from`, `to`; newest first, paged.");

        // Streamed row by row: an export of millions of events never sits in memory.
        audit.MapGet("/export", async (string? format, string? subject, string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to, ExchangeDbContext db, HttpContext http) =>
        {
            PlainText.EnsureNoControlCharacters(("subject", subject), ("actor", actor), ("action", action));
            var csv = !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
            http.Response.ContentType = csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"audit.{(csv ? "csv" : "ndjson")}\"";
            await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 64 * 1024);
            if (csv)
            {
                await writer.WriteLineAsync("seq,at,actor,action,subject,data,chain_seq,hash");
            }

            var rows = Filter(db, subject, actor, action, from, to).OrderBy(e => e.Seq).AsAsyncEnumerable();
            await foreach (var e in rows.WithCancellation(http.RequestAborted))
            {
                var line = ToLine(e);
                await writer.WriteLineAsync(csv
                    ? string.Join(',', line.Seq.ToString(CultureInfo.InvariantCulture), line.At.ToString("O", CultureInfo.InvariantCulture),
                        Csv(line.Actor), Csv(line.Action), Csv(line.Subject), Csv(line.Data), line.ChainSeq?.ToString(CultureInfo.InvariantCulture) ?? "", line.Hash ?? "")
                    : System.Text.Json.JsonSerializer.Serialize(line, JsonOptions));
            }
        }).WithSummary("Export the audit trail as CSV or JSON lines (compliance)");

        audit.MapGet("/verify", async (AuditChain chain, CancellationToken ct) => await chain.VerifyAsync(ct))
            .WithSummary("Verify the audit trail's hash chain (compliance)");
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);

    private static IQueryable<AuditEvent> Filter(ExchangeDbContext db, string? subject, string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to)
    {
        var events = db.AuditEvents.AsNoTracking();
        if (!string.IsNullOrEmpty(subject))
        {
            events = events.Where(e => e.Subject == subject);
        }

        if (!string.IsNullOrEmpty(actor))
        {
            events = events.Where(e => e.Actor == actor);
        }

        if (!string.IsNullOrEmpty(action))
        {
            events = events.Where(e => e.Action == action);
        }

        if (from is { } since)
        {
            events = events.Where(e => e.At >= since);
        }

        if (to is { } until)
        {
            events = events.Where(e => e.At < until);
        }

        return events;
    }

    private static Line ToLine(AuditEvent e) =>
        new(e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Data, e.ChainSeq, e.Hash is null ? null : Convert.ToHexStringLower(e.Hash));

    /// <summary>RFC 4180 quoting; a leading =, +, - or @ is prefixed so a spreadsheet does not run it as a formula.</summary>
    private static string Csv(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@')
        {
            value = "'" + value;
        }

        return "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
