namespace FlatLora.Silo.Tests;

/// <summary>A silo with bad configuration stops at once and names what is wrong.</summary>
public sealed class SiloConfigurationTests
{
    [Fact]
    public async Task Kubernetes_hosting_outside_a_pod_fails_naming_the_missing_variables()
    {
        using ChildProcess silo = ChildProcess.Start("Silo", "flatlora-silo.dll",
            ["--FlatLora:Silo:Kubernetes=true", "--Urls=http://127.0.0.1:0", "--FlatLora:Silo:GrpcPort=0"]);
        int? exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit is not null and not 0, $"the silo should have stopped with an error:\n{silo.Output}");
        Assert.Contains("FlatLora:Silo:Kubernetes is on but the pod does not set POD_NAME, POD_NAMESPACE, POD_IP", silo.Output);
    }

    [Fact]
    public async Task A_negative_or_nan_quota_stops_the_silo_naming_each_setting()
    {
        using ChildProcess silo = ChildProcess.Start("Silo", "flatlora-silo.dll",
            ["--FlatLora:Cluster:Scheduling:Projects:nlp:Max=-1", "--FlatLora:Cluster:Scheduling:Projects:vision:Weight=NaN",
             "--Urls=http://127.0.0.1:0", "--FlatLora:Silo:GrpcPort=0"]);
        int? exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit is not null and not 0, silo.Output);
        Assert.Contains("FlatLora:Cluster:Scheduling:Projects:nlp:Max: must be 0 or more devices (got -1)", silo.Output);
        Assert.Contains("FlatLora:Cluster:Scheduling:Projects:vision:Weight: must be a finite number > 0 (got NaN)", silo.Output);
    }

    [Fact]
    public async Task An_unknown_clustering_provider_is_named()
    {
        using ChildProcess silo = ChildProcess.Start("Silo", "flatlora-silo.dll",
            ["--FlatLora:Silo:Clustering=Consul", "--Urls=http://127.0.0.1:0", "--FlatLora:Silo:GrpcPort=0"]);
        int? exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit is not null and not 0, silo.Output);
        Assert.Contains("FlatLora:Silo:Clustering must be Localhost or Redis (got 'Consul')", silo.Output);
    }

    [Fact]
    public async Task Tls_with_a_missing_certificate_file_stops_the_silo_naming_the_file()
    {
        using ChildProcess silo = ChildProcess.Start("Silo", "flatlora-silo.dll",
            ["--FlatLora:Silo:Tls:Enabled=true", "--FlatLora:Silo:Tls:CertificatePath=/no/such/silo.crt", "--Urls=http://127.0.0.1:0", "--FlatLora:Silo:GrpcPort=0"]);
        int? exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit is not null and not 0, silo.Output);
        Assert.Contains("FlatLora:Silo:Tls: /no/such/silo.crt not found", silo.Output);
    }
}
