using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VivoKey.Simulator.Controls;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;
using VivoKey.Simulator.Phone;
using VivoKey.Simulator.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator;

/// <summary>Builds the simulator's host; Program runs it, and tests start it on ports of their own.</summary>
public static class SimulatorApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var settings = builder.Configuration.GetSection(SimulatorOptions.Section).Get<SimulatorOptions>() ?? new SimulatorOptions();
        // Made here, not on first use: an unknown ID token algorithm stops the start.
        var behaviours = new Behaviours(settings);
        var services = builder.Services;
        services.AddSingleton(Options.Create(settings));
        services.AddSingleton(settings);
        services.AddSingleton(behaviours);

        var clock = new SimulatorClock();
        services.AddSingleton(clock);
        services.AddSingleton<TimeProvider>(clock);

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        services.AddProblemDetails();
        // Tap tickets are protected with keys that live as long as the process, like everything else here.
        services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(
            new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());

        // One in-memory database per host, so several simulators can share a process (tests do).
        var databaseName = "vivokey-simulator-" + Guid.NewGuid().ToString("N");
        services.AddDbContext<SimulatorDbContext>(db =>
        {
            db.UseInMemoryDatabase(databaseName);
            db.UseOpenIddict();
        });

        services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<SimulatorDbContext>())
            .AddServer(server =>
            {
                server.SetIssuer(settings.Issuer);
                // The real service's paths, so switching to it is a change of base URL only.
                server.SetConfigurationEndpointUris("openid/.well-known/openid-configuration")
                    .SetAuthorizationEndpointUris("openid/authorize/")
                    .SetTokenEndpointUris("openid/token/")
                    .SetUserInfoEndpointUris("openid/userinfo/")
                    .SetJsonWebKeySetEndpointUris("openid/jwks/");
                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();
                server.RequireProofKeyForCodeExchange();
                server.Configure(o => o.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));
                server.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, ValidateEndpoint.ValidateScope, Scopes.OfflineAccess);
                server.RegisterClaims(Claims.Subject, Claims.Name, Claims.Email, Claims.EmailVerified);
                server.SetAccessTokenLifetime(TimeSpan.FromSeconds(settings.AccessTokenLifetimeSeconds))
                    .SetIdentityTokenLifetime(TimeSpan.FromSeconds(settings.IdentityTokenLifetimeSeconds))
                    .SetRefreshTokenLifetime(TimeSpan.FromSeconds(settings.RefreshTokenLifetimeSeconds));
                // Opaque access tokens, as the real service issues; the Validation API looks them up.
                server.UseReferenceAccessTokens();
                // Keys live as long as the process, like the rest of the simulator's state. RSA: RS256 ID tokens.
                server.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
                server.AddEventHandler(AdvertiseIdTokenAlgorithm.Descriptor);
                if (behaviours.IdTokenAlgorithm == IdTokenAlgorithms.HS256)
                {
                    server.AddEventHandler(HmacIdTokenSigner.Descriptor);
                }

                server.AddEventHandler(RevokePreviousTokensOnRefresh.Descriptor);
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .DisableTransportSecurityRequirement();
            })
            .AddValidation(validation =>
            {
                validation.UseLocalServer();
                validation.UseAspNetCore();
            });

        services.AddHttpClient(CallbackDispatcher.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(settings.CallbackTimeoutSeconds));
        services.AddSingleton<MemberDirectory>();
        services.AddSingleton<ClientRegistry>();
        services.AddSingleton<ChallengeStore>();
        services.AddSingleton<FaultRules>();
        services.AddSingleton<CallbackDispatcher>();
        services.AddScoped<MemberActions>();
        services.AddSingleton<ChallengeAutoTap>();
        services.AddHostedService<ClientSeeder>();
        services.AddHostedService<DeadlineWatcher>();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseAuthentication();

        app.MapGet("/", () => Results.Redirect("/phone"));
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        AuthorizeEndpoint.Map(app);
        UserInfoEndpoint.Map(app);
        ValidateEndpoint.Map(app);
        PhonePage.Map(app);
        SimulatorControls.Map(app);
        return app;
    }
}
