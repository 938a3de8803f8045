using System.Reflection;

namespace Exchange.Testing;

/// <summary>The checkout this code belongs to: where Exchange.sln and the git-ignored .tools/ folder are.</summary>
public static class RepositoryRoot
{
    public static string? Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Exchange.sln")))
            {
                return directory.FullName;
            }
        }

        // A test project outside the repository (a scratch check) still finds the checkout it was built from.
        var builtFrom = typeof(RepositoryRoot).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        return builtFrom is not null && File.Exists(Path.Combine(builtFrom, "Exchange.sln")) ? builtFrom : null;
    }
}
