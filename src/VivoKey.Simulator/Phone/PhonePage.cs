using System.Globalization;
using System.Text;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;
using VivoKey.Simulator.Validation;

namespace VivoKey.Simulator.Phone;

/// <summary>
/// The member's phone: pending challenges as a list of notifications, each with Tap and Decline.
/// The list keeps itself current (it asks <c>/phone/notifications</c> every second and redraws only
/// when a challenge came or went), and announces a new one to screen readers.
/// </summary>
public static class PhonePage
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/phone", Show);
        app.MapGet("/phone/notifications", (string? member, MemberDirectory members, ChallengeStore store, ClientRegistry clients, TimeProvider clock) =>
            members.FindByHint(member) is { } who
                ? Results.Content(Notifications(who, store, clients, clock.GetUtcNow()), "text/html; charset=utf-8", Encoding.UTF8)
                : Results.NotFound());
        app.MapPost("/phone/{vivoId}/{action:regex(^(tap|decline)$)}", ActAsync);
    }

    private static IResult Show(string? member, string? done, MemberDirectory members, ChallengeStore store, ClientRegistry clients, TimeProvider clock)
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
        var said = done switch
        {
            "tap" => "Tapped: approved.",
            "decline" => "Declined.",
            _ => "",
        };
        body.Append("<div class=\"phone\" data-member=\"").Append(Page.E(who.Subject)).Append("\">")
            .Append("<div class=\"statusbar\"><span id=\"clock\">").Append(now.ToString("HH:mm", CultureInfo.InvariantCulture)).Append("</span><span>VivoKey</span></div>")
            .Append("<h1>").Append(Page.E(who.Name)).Append("'s phone</h1>")
            .Append("<p class=\"muted owner\">").Append(Page.E(who.Email)).Append("</p>")
            .Append("<p id=\"announce\" class=\"flash\" role=\"status\" aria-live=\"polite\">").Append(Page.E(said)).Append("</p>")
            .Append("<section id=\"notifications\" aria-label=\"Notifications\">")
            .Append(Notifications(who, store, clients, now))
            .Append("</section></div>")
            .Append("<script>").Append(Script).Append("</script>");
        return Page.Html("Phone", body.ToString(), head: "<style>" + Style + "</style>");
    }

    /// <summary>The list itself: what the page shows first and what it asks for again to stay current.</summary>
    private static string Notifications(Member who, ChallengeStore store, ClientRegistry clients, DateTimeOffset now)
    {
        var pending = store.All.Where(c => c.Member == who.Subject && c.Status == ChallengeStatus.Pending && c.Deadline > now)
            .OrderByDescending(c => c.CreatedAt).ToList();
        var list = new StringBuilder()
            .Append("<div class=\"list\" data-ids=\"").Append(Page.E(string.Join(',', pending.Select(c => c.VivoId)))).Append("\">");
        if (pending.Count == 0)
        {
            list.Append("<p class=\"muted\" id=\"empty\">No challenges waiting. New ones appear here by themselves.</p>");
        }

        foreach (var challenge in pending)
        {
            var left = (int)Math.Ceiling((challenge.Deadline - now).TotalSeconds);
            var client = clients.Find(challenge.ClientId);
            var from = string.IsNullOrEmpty(client?.DisplayName) ? challenge.ClientId : client.DisplayName;
            list.Append("<article class=\"card challenge notification\" data-vivo-id=\"").Append(Page.E(challenge.VivoId)).Append("\" aria-label=\"Challenge from ")
                .Append(Page.E(from)).Append("\">")
                .Append("<div class=\"head\"><span class=\"app\" aria-hidden=\"true\">VK</span><span>VivoKey · ").Append(Page.E(from)).Append("</span>")
                .Append("<span class=\"muted left\" data-left=\"").Append(left.ToString(CultureInfo.InvariantCulture)).Append("\">")
                .Append(left.ToString(CultureInfo.InvariantCulture)).Append(" s left</span></div>")
                .Append("<p class=\"message\"><strong>").Append(Page.E(challenge.Message)).Append("</strong></p>")
                .Append(ActionForm(challenge, who, "tap", "Tap your VivoKey", "primary"))
                .Append(ActionForm(challenge, who, "decline", "Decline", "danger"))
                .Append("</article>");
        }

        return list.Append("</div>").ToString();
    }

    private static string ActionForm(Challenge challenge, Member member, string action, string label, string style) =>
        $"<form method=\"post\" style=\"display:inline\" action=\"/phone/{Uri.EscapeDataString(challenge.VivoId)}/{action}?member={Uri.EscapeDataString(member.Subject)}\">" +
        $"<button class=\"{style}\" type=\"submit\">{Page.E(label)}</button></form>";

    private static async Task<IResult> ActAsync(string vivoId, string action, string? member, MemberActions actions, HttpContext http)
    {
        await actions.ActAsync(vivoId, action == "tap" ? MemberAction.Tap : MemberAction.Decline, http.RequestAborted);
        return Results.Redirect("/phone?member=" + Uri.EscapeDataString(member ?? "") + "&done=" + action);
    }

    private const string Style = """
        body{background:#e9ecf2}
        .phone{background:#0f1115;color:#f4f5f7;border-radius:2.2rem;padding:1rem 1rem 1.6rem;border:10px solid #1f2229;min-height:34rem;box-shadow:0 20px 40px rgba(0,0,0,.25)}
        .phone h1{font-size:1.25rem;margin:.6rem .2rem 0}.phone .owner{margin:.1rem .2rem .8rem;color:#9aa1ad}
        .statusbar{display:flex;justify-content:space-between;font-size:.8rem;color:#c7ccd6;padding:0 .4rem}
        .notification{background:rgba(255,255,255,.94);color:#15171c;border:none;border-radius:1rem;box-shadow:0 2px 6px rgba(0,0,0,.3)}
        .notification .head{display:flex;gap:.5rem;align-items:center;font-size:.8rem;color:#555}
        .notification .left{margin-left:auto}
        .notification .app{background:#0b5cff;color:#fff;font-weight:700;border-radius:.4rem;padding:.1rem .3rem;font-size:.7rem}
        .notification .message{font-size:1.05rem;margin:.5rem 0 .7rem}
        .phone .muted{color:#9aa1ad}.notification .muted{color:#666}
        .flash{color:#7ee2a8;min-height:1.2rem;margin:.2rem}
        """;

    // Asks for the list every second; redraws only when a challenge came or went, so focus and taps are never lost.
    private const string Script = """
        (() => {
          const member = document.querySelector(".phone").dataset.member;
          const box = document.getElementById("notifications");
          const announce = document.getElementById("announce");
          const ids = () => (box.querySelector(".list")?.dataset.ids || "").split(",").filter(Boolean);
          async function refresh() {
            try {
              const response = await fetch("/phone/notifications?member=" + encodeURIComponent(member), { cache: "no-store" });
              if (response.ok) {
                const html = await response.text();
                const next = new DOMParser().parseFromString(html, "text/html").querySelector(".list");
                const before = ids();
                const after = (next?.dataset.ids || "").split(",").filter(Boolean);
                if (next && before.join(",") !== after.join(",")) {
                  box.replaceChildren(document.importNode(next, true));
                  const fresh = after.filter((id) => !before.includes(id)).length;
                  if (fresh) announce.textContent = fresh === 1 ? "New challenge: tap to approve." : fresh + " new challenges.";
                }
              }
            } catch (e) { /* the simulator restarted or is busy: try again shortly */ }
            setTimeout(refresh, 1000);
          }
          setInterval(() => {
            for (const left of box.querySelectorAll("[data-left]")) {
              const seconds = Math.max(0, Number(left.dataset.left) - 1);
              left.dataset.left = seconds;
              left.textContent = seconds + " s left";
            }
            document.getElementById("clock").textContent = new Date().toTimeString().slice(0, 5);
          }, 1000);
          setTimeout(refresh, 1000);
        })();
        """;
}
