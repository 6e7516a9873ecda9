namespace FlatLora.Tests.Shared;

/// <summary>Paths in this checkout, found from the test assembly's folder.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder holding FlatLora.Distributed.sln.</summary>
    public static string Root
    {
        get
        {
            string? directory = AppContext.BaseDirectory;
            while (directory is not null && !File.Exists(Path.Combine(directory, "FlatLora.Distributed.sln")))
                directory = Path.GetDirectoryName(directory);
            return directory ?? throw new DirectoryNotFoundException("cannot find the repository root above " + AppContext.BaseDirectory);
        }
    }
}
