# The exchange: one image for every role. Exchange__ServeApi and Exchange__RunJobs choose API-only,
# worker-only or both; `migrate` as the command brings the schema up to date and exits.
#   docker build -f docker/exchange.Dockerfile -t exchange .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props Exchange.sln ./
COPY src/ src/
COPY migrations/ migrations/
RUN dotnet publish src/Exchange.Api/Exchange.Api.csproj -c Release -o /app \
 && dotnet build migrations/Exchange.Migrations/Exchange.Migrations.csproj -c Release \
 && cp src/Exchange.Api/bin/Release/net10.0/Exchange.Migrations.dll /app/

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# Production unless told otherwise: start-up then refuses the simulator, anvil's keys and the dev credit endpoint.
ENV ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://+:8080 \
    Exchange__MigrateOnStartup=false
EXPOSE 8080
# The image's unprivileged user (uid 1654); a keystore file mounted for it must be readable by it.
USER $APP_UID
# SIGTERM (docker stop) is a graceful stop: open requests end, work in hand finishes or goes back to the other instances.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "Exchange.Api.dll"]
