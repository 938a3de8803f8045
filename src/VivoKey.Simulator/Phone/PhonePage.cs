using System.Globalization;
using System.Text;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;
using VivoKey.Simulator.Validation;

namespace VivoKey.Simulator.Phone;

/// <summary>The member's phone: pending challenges, each with Tap and Decline.</summary>
public static class PhonePage
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/phone", Show);
        app.MapPost("/phone/{vivoId}/{action:regex(^(tap|decline)$)}", ActAsync);
    }

    private static IResult Show(string? member, MemberDirectory members, ChallengeStore store, TimeProvider clock)
    {
        var body = new StringBuilder();
        var who = members.FindByHint(member);
        if (who is null)
        {
            body.Append("<h1>Whose phone?</h1>");
            foreach (var m in members.All)
            {
                body.Append("<p class=\"card\"><a href=\"/phone?member=").Append(Uri.EscapeDataString(m.Subject)).Append("\">")
                    .Append(Page.E(m.Name)).Append("</a> <span class=\"muted\">").Append(Page.E(m.Email)).Append("</span></p>");
            }

            return Page.Html("Phone", body.ToString());
        }

        var now = clock.GetUtcNow();
        var pending = store.All.Where(c => c.Member == who.Subject && c.Status == ChallengeStatus.Pending && c.Deadline > now).ToList();
        body.Append("<h1>").Append(Page.E(who.Name)).Append("'s phone</h1>");
        if (pending.Count == 0)
        {
            body.Append("<p class=\"muted\" id=\"empty\">No challenges waiting. This page refreshes itself.</p>");
        }

        foreach (var challenge in pending)
        {
            var left = (int)Math.Ceiling((challenge.Deadline - now).TotalSeconds);
            body.Append("<div class=\"card challenge\" data-vivo-id=\"").Append(Page.E(challenge.VivoId)).Append("\">")
                .Append("<p><strong>").Append(Page.E(challenge.Message)).Append("</strong></p>")
                .Append("<p class=\"muted\">").Append(Page.E(challenge.ClientId)).Append(" · ")
                .Append(left.ToString(CultureInfo.InvariantCulture)).Append(" s left</p>")
                .Append(ActionForm(challenge, who, "tap", "Tap your VivoKey", "primary"))
                .Append(ActionForm(challenge, who, "decline", "Decline", "danger"))
                .Append("</div>");
        }

        return Page.Html("Phone", body.ToString(), refreshSeconds: 3);
    }

    private static string ActionForm(Challenge challenge, Member member, string action, string label, string style) =>
        $"<form method=\"post\" style=\"display:inline\" action=\"/phone/{Uri.EscapeDataString(challenge.VivoId)}/{action}?member={Uri.EscapeDataString(member.Subject)}\">" +
        $"<button class=\"{style}\" type=\"submit\">{Page.E(label)}</button></form>";

    private static async Task<IResult> ActAsync(string vivoId, string action, string? member, MemberActions actions, HttpContext http)
    {
        await actions.ActAsync(vivoId, action == "tap" ? MemberAction.Tap : MemberAction.Decline, http.RequestAborted);
        return Results.Redirect("/phone?member=" + Uri.EscapeDataString(member ?? ""));
    }
}
