# The VivoKey Connect simulator, for development and demonstrations only: the exchange refuses to
# start in Production with it as its identity provider.
#   docker build -f docker/simulator.Dockerfile -t vivokey-simulator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/VivoKey.Simulator/ src/VivoKey.Simulator/
RUN dotnet publish src/VivoKey.Simulator/VivoKey.Simulator.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_ENVIRONMENT=Development \
    Urls=http://+:5090
EXPOSE 5090
USER $APP_UID
ENTRYPOINT ["dotnet", "VivoKey.Simulator.dll"]
