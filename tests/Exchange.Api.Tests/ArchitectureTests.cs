using System.Reflection;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Testing;
using NetArchTest.Rules;

namespace Exchange.Api.Tests;

/// <summary>
/// The shape of the code, checked on the compiled assemblies (NetArchTest reads their references), so a
/// violation fails `make test` the moment it is written:
/// <list type="bullet">
/// <item>Exchange.Domain depends on nothing: not on the host, not on any package.</item>
/// <item>Dependencies point one way: Features may use Bookkeeping, Common, Infrastructure and Domain;
/// Infrastructure, Bookkeeping and Common never use Features.</item>
/// <item>Infrastructure/Jobs only triggers: it holds no money rule (no ledger, no request outcome, no signing key, no chain writes).</item>
/// <item>No source file is over 300 lines.</item>
/// </list>
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Api = typeof(WorkRunner).Assembly;
    private static readonly Assembly Domain = typeof(Exchange.Domain.Common.RequestStatus).Assembly;

    [Fact]
    public void The_domain_depends_on_nothing_of_the_host_and_on_no_package()
    {
        AssertHolds(Types.InAssembly(Domain).ShouldNot().HaveDependencyOnAny(
            "Exchange.Api", "Microsoft.EntityFrameworkCore", "Microsoft.AspNetCore", "Microsoft.Extensions", "Npgsql",
            "Hangfire", "Nethereum", "Mediator", "FluentValidation", "System.Net.Http"));
    }

    [Theory]
    [InlineData("Exchange.Api.Infrastructure")]
    [InlineData("Exchange.Api.Bookkeeping")]
    [InlineData("Exchange.Api.Common")]
    public void Nothing_below_the_use_cases_depends_on_them(string layer)
    {
        // Not vacuous: the layer has types, and the same check does see the use cases' own dependencies.
        Assert.NotEmpty(Types.InAssembly(Api).That().ResideInNamespace(layer).GetTypes());
        Assert.False(Types.InAssembly(Api).That().ResideInNamespace("Exchange.Api.Features.Withdrawals")
            .ShouldNot().HaveDependencyOn(layer).GetResult().IsSuccessful, $"Features.Withdrawals should be seen to use {layer}");
        AssertHolds(Types.InAssembly(Api).That().ResideInNamespace(layer).ShouldNot().HaveDependencyOn("Exchange.Api.Features"));
    }

    [Fact]
    public void The_job_triggers_hold_no_money_rule()
    {
        AssertHolds(Types.InAssembly(Api).That().ResideInNamespace("Exchange.Api.Infrastructure.Jobs").ShouldNot().HaveDependencyOnAny(
            "Exchange.Api.Bookkeeping.LedgerPostings", "Exchange.Api.Bookkeeping.RequestOutcomes", "Exchange.Domain.Ledger",
            "Exchange.Api.Infrastructure.Chain.HotWallet", "Exchange.Api.Infrastructure.VivoKey.ValidationApiClient"));
    }

    [Fact]
    public void Every_step_a_trigger_runs_is_a_use_case_in_features()
    {
        var steps = Types.InAssembly(Api).That().ImplementInterface(typeof(IWorkStep))
            .Or().ImplementInterface(typeof(ISigningBatch)).Or().ImplementInterface(typeof(IReconciliation))
            .And().AreNotAbstract().GetTypes().ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, step => Assert.StartsWith("Exchange.Api.Features.", step.FullName, StringComparison.Ordinal));
    }

    [Fact]
    public void No_source_file_is_over_300_lines()
    {
        var root = RepositoryRoot.Find() ?? throw new InvalidOperationException("Exchange.sln not found above " + AppContext.BaseDirectory);
        var tooLong = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (File: Path.GetRelativePath(root, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > 300)
            .ToList();
        Assert.True(tooLong.Count == 0, "Over 300 lines: " + string.Join(", ", tooLong.Select(f => $"{f.File} ({f.Lines})")));
    }

    private static void AssertHolds(ConditionList rule)
    {
        var result = rule.GetResult();
        Assert.True(result.IsSuccessful, "Broken by: " + string.Join(", ", result.FailingTypeNames ?? []));
    }
}
