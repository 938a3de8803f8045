using OpenIddict.Abstractions;
using VivoKey.Simulator.Identity;

namespace VivoKey.Simulator.Controls;

/// <summary>What happens to a member's tokens outside any request of the relying party: time passes, or the member revokes the app.</summary>
public static class MemberTokenControls
{
    public static void Map(RouteGroupBuilder group)
    {
        // The member's access tokens expire now; refresh tokens stay valid, as after an hour's wait.
        group.MapPost("/members/{subject}/expire-tokens", async (string subject, MemberDirectory members, IOpenIddictTokenManager tokens, TimeProvider clock, CancellationToken ct) =>
        {
            if (members.FindBySubject(subject) is null)
            {
                return NoSuchMember();
            }

            var now = clock.GetUtcNow();
            var expired = 0;
            await foreach (var token in tokens.FindBySubjectAsync(subject, ct))
            {
                if (!await tokens.IsAccessTokenAsync(token, ct) || await tokens.IsExpiredAsync(token, now, ct))
                {
                    continue;
                }

                var descriptor = new OpenIddictTokenDescriptor();
                await tokens.PopulateAsync(descriptor, token, ct);
                descriptor.ExpirationDate = now;
                await tokens.UpdateAsync(token, descriptor, ct);
                expired++;
            }

            return Results.Ok(new { subject, expired });
        });

        // The member revokes the app in VivoKey: every access and refresh token of theirs stops working, for every client.
        group.MapPost("/members/{subject}/revoke-tokens", async (string subject, MemberDirectory members, IOpenIddictTokenManager tokens, CancellationToken ct) =>
        {
            if (members.FindBySubject(subject) is null)
            {
                return NoSuchMember();
            }

            var revoked = await tokens.RevokeAccessAndRefreshTokensAsync(subject, applicationId: null, spared: new HashSet<string>(), ct);
            return Results.Ok(new { subject, revoked });
        });
    }

    private static IResult NoSuchMember() => Results.Problem(statusCode: 404, title: "No member has that subject.");
}
