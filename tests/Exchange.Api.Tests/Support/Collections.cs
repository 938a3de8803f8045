using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestCollectionOrderer("Exchange.Api.Tests.Support.ProcessesFirst", "Exchange.Api.Tests")]

// Three collections at a time: the processes collection in one slot, the in-process classes in the other two.
[assembly: CollectionBehavior(MaxParallelThreads = 3)]

namespace Exchange.Api.Tests.Support;

/// <summary>
/// The classes that run the exchange as OS processes: killed with SIGKILL and started again, several instances
/// behind a load balancer, the soak. Each runs several processes at once, so its classes run one after another,
/// beside the classes whose exchange runs in the test process.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProcessesCollection
{
    public const string Name = "processes";
}

/// <summary>
/// The processes collection starts first: it is the longest, and started later it would run on alone at the end
/// of the run, with the other slots idle.
/// </summary>
public sealed class ProcessesFirst : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(c => c.DisplayName == ProcessesCollection.Name ? 0 : 1)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal)
            .ToList();
}
