using System.Reflection;
using System.Text.Json;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains.Hosting;
using FlatLora.Silo;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace FlatLora.Deploy.Tests;

/// <summary>The Helm chart: lint, render and offline validation for the default, GPU and CPU-only values, and what the rendered manifests promise.</summary>
public sealed class HelmChartTests
{
    public static TheoryData<string, string[]> Profiles => new()
    {
        { "default", [] },
        { "gpu", ["values-gpu.yaml"] },
        { "cpu", ["values-cpu.yaml"] },
        { "tls", ["ci/values-tls.yaml"] },
        { "tls-cert-manager", ["ci/values-tls-certmanager.yaml"] },
        { "streams", ["ci/values-streams.yaml"] },
        { "auth", ["ci/values-auth.yaml"] },
    };

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Lints_renders_and_validates_offline(string profile, string[] valuesFiles)
    {
        string[] lintArgs = ["lint", DeployTools.Chart, "--strict", .. valuesFiles.SelectMany(f => new[] { "-f", Path.Combine(DeployTools.Chart, f) })];
        (int exit, string output) = DeployTools.Exec(DeployTools.Helm, lintArgs);
        Assert.True(exit == 0, $"helm lint ({profile}):\n{output}");

        RenderedChart chart = RenderedChart.Render(profile, valuesFiles);
        (exit, output) = DeployTools.Exec("node", [Path.Combine(DeployTools.Chart, "ci", "validate-manifests.mjs"), "--modules", DeployTools.ValidatorModules, chart.File]);
        Assert.True(exit == 0, $"manifest validation ({profile}):\n{output}");
        Assert.Contains($"{chart.Manifests.Count} manifest(s) checked, 0 problem(s)", output);
    }

    [Fact]
    public void The_validator_rejects_wrong_types_and_unknown_fields()
    {
        string file = Path.Combine(Path.GetTempPath(), $"flatlora-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, """
            apiVersion: v1
            kind: Service
            metadata: { name: typo }
            spec:
              selector: { app: x }
              ports: [{ name: http, port: "eighty" }]
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: { name: misplaced }
            spec:
              serviceName: x
              selector: { matchLabels: { app: x } }
              template:
                metadata: { labels: { app: x } }
                spec:
                  containers: [{ name: c, image: i, resource: { limits: { cpu: "1" } } }]
            """);
        (int exit, string output) = DeployTools.Exec("node", [Path.Combine(DeployTools.Chart, "ci", "validate-manifests.mjs"), "--modules", DeployTools.ValidatorModules, file]);
        Assert.Equal(1, exit);
        Assert.Contains("Service typo: data/spec/ports/0/port must be integer", output);
        Assert.Contains("StatefulSet misplaced: unknown field StatefulSet.spec.template.spec.containers[0].resource", output);
    }

    [Fact]
    public void Default_values_render_every_part_of_a_deployment()
    {
        RenderedChart chart = RenderedChart.Render("parts", []);
        string[] kinds = chart.Manifests.Select(m => RenderedChart.Scalar(m, "kind")!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["ConfigMap", "ConfigMap", "NetworkPolicy", "NetworkPolicy", "PersistentVolumeClaim", "PrometheusRule", "Role", "RoleBinding", "Secret", "Service", "Service", "Service", "Service",
            "ServiceAccount", "ServiceMonitor", "StatefulSet", "StatefulSet"], kinds);

        // Orleans' Kubernetes hosting: pod labels and downward-API variables.
        YamlMappingNode silo = chart.Single("StatefulSet", "flatlora");
        Assert.Equal("flatlora", RenderedChart.Scalar(silo, "spec", "template", "metadata", "labels", "orleans/serviceId"));
        Assert.Equal("flatlora", RenderedChart.Scalar(silo, "spec", "template", "metadata", "labels", "orleans/clusterId"));
        var env = chart.SiloEnvironment;
        foreach (string variable in new[] { "POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID" })
            Assert.True(env.ContainsKey(variable), variable);
        Assert.Equal("true", env["FlatLora__Silo__Kubernetes"]);
        Assert.Equal("$(POD_IP)", env["FlatLora__Silo__AdvertisedIp"]);
        Assert.Equal("0.0.0.0", env["FlatLora__Silo__ListenIp"]);
        Assert.Equal("/data/runs", env["FlatLora__Silo__OutputRoot"]);

        // The gradient ports (gRPC control, TCP data plane) are exposed on the pods and the headless service.
        var ports = RenderedChart.Sequence(chart.Single("Service", "-silo"), "spec", "ports").Cast<YamlMappingNode>()
            .ToDictionary(p => RenderedChart.Scalar(p, "name")!, p => RenderedChart.Scalar(p, "port"));
        Assert.Equal("5050", ports["grpc"]);
        Assert.Equal("5051", ports["gradients"]);
        Assert.Equal("5051", env["FlatLora__Silo__DataPort"]);
        var containerPorts = RenderedChart.Sequence(chart.SiloContainer, "ports").Cast<YamlMappingNode>()
            .ToDictionary(p => RenderedChart.Scalar(p, "name")!, p => RenderedChart.Scalar(p, "containerPort"));
        Assert.Equal("5051", containerPorts["gradients"]);
        Assert.Equal("30000", ports["gateway"]);
        Assert.Equal("11111", ports["silo"]);
        // Users reach the public API's Service; no Service exposes the Orleans gateway on its own.
        Assert.Equal("7443", RenderedChart.Scalar(RenderedChart.Sequence(chart.Single("Service", "-api"), "spec", "ports")[0], "port"));
        Assert.Equal("7443", containerPorts["api"]);
        Assert.Equal("7443", env["FlatLora__Silo__ApiPort"]);
        Assert.DoesNotContain(chart.OfKind("Service"), s => RenderedChart.Scalar(s, "metadata", "name")!.EndsWith("-gateway", StringComparison.Ordinal));

        // Everything a silo writes lands on the one shared ReadWriteMany volume.
        Assert.Equal("ReadWriteMany", RenderedChart.Sequence(chart.Single("PersistentVolumeClaim", "-data"), "spec", "accessModes")[0].ToString());
        Assert.Equal("/data", RenderedChart.Scalar(chart.SiloContainer, "workingDir"));

        // The RBAC Orleans needs to watch pods and delete defunct ones.
        var verbs = RenderedChart.Sequence((YamlMappingNode)RenderedChart.Sequence(chart.Single("Role", "flatlora"), "rules")[0], "verbs").Select(v => v.ToString()).ToList();
        Assert.Equal(["get", "list", "watch", "delete"], verbs);

        // The ServiceMonitor sets job="flatlora", which dashboards and alerts select on.
        var relabel = (YamlMappingNode)RenderedChart.Sequence((YamlMappingNode)RenderedChart.Sequence(chart.Single("ServiceMonitor", "flatlora"), "spec", "endpoints")[0], "relabelings")[0];
        Assert.Equal("job", RenderedChart.Scalar(relabel, "targetLabel"));
        Assert.Equal("flatlora", RenderedChart.Scalar(relabel, "replacement"));
    }

    [Fact]
    public void Gpu_values_request_gpus_on_gpu_nodes_and_cpu_values_none()
    {
        RenderedChart gpu = RenderedChart.Render("gpu-only", ["values-gpu.yaml"]);
        Assert.Equal("1", RenderedChart.Scalar(gpu.SiloContainer, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("on", gpu.SiloEnvironment["FlatLora__Cluster__Cuda"]);
        Assert.Equal("true", RenderedChart.Scalar(gpu.Single("StatefulSet", "flatlora"), "spec", "template", "spec", "nodeSelector", "nvidia.com/gpu.present"));
        Assert.EndsWith(":0.1.0-gpu", RenderedChart.Scalar(gpu.SiloContainer, "image"), StringComparison.Ordinal);

        RenderedChart cpu = RenderedChart.Render("cpu-only", ["values-cpu.yaml"]);
        Assert.Null(RenderedChart.Node(cpu.SiloContainer, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("off", cpu.SiloEnvironment["FlatLora__Cluster__Cuda"]);
        Assert.Equal("2", cpu.SiloEnvironment["FlatLora__Cluster__CpuSlots"]);
        Assert.EndsWith(":0.1.0-cpu", RenderedChart.Scalar(cpu.SiloContainer, "image"), StringComparison.Ordinal);
        Assert.Empty(cpu.OfKind("ServiceMonitor"));
    }

    [Fact]
    public void Tls_mounts_the_secret_and_network_policies_fence_every_port()
    {
        RenderedChart chart = RenderedChart.Render("tls-parts", ["ci/values-tls.yaml"]);
        var env = chart.SiloEnvironment;
        Assert.Equal("true", env["FlatLora__Silo__Tls__Enabled"]);
        Assert.Equal("/etc/flatlora/tls/ca.crt", env["FlatLora__Silo__Tls__CaPath"]);
        YamlMappingNode silo = chart.Single("StatefulSet", "flatlora");
        var volumes = RenderedChart.Sequence(silo, "spec", "template", "spec", "volumes").Cast<YamlMappingNode>();
        Assert.Contains(volumes, v => RenderedChart.Scalar(v, "secret", "secretName") == "flatlora-tls");

        YamlMappingNode policy = chart.Single("NetworkPolicy", "-silo");
        var rules = RenderedChart.Sequence(policy, "spec", "ingress").Cast<YamlMappingNode>().ToList();
        string[] Ports(YamlMappingNode rule) => [.. RenderedChart.Sequence(rule, "ports").Select(p => RenderedChart.Scalar(p, "port")!)];
        Assert.Equal(["11111", "5050", "5051", "30000"], Ports(rules[0]));   // silos only
        Assert.Equal("silo", RenderedChart.Scalar(RenderedChart.Sequence(rules[0], "from")[0], "podSelector", "matchLabels", "app.kubernetes.io/component"));
        Assert.Equal(["7443"], Ports(rules[1]));                       // labelled clients: the API only
        Assert.Equal("true", RenderedChart.Scalar(RenderedChart.Sequence(rules[1], "from")[0], "podSelector", "matchLabels", "flatlora.io/client"));
        Assert.Equal(["30000"], Ports(rules[2]));                      // labelled operator tools: the gateway
        Assert.Equal("true", RenderedChart.Scalar(RenderedChart.Sequence(rules[2], "from")[0], "podSelector", "matchLabels", "flatlora.io/operator"));
        Assert.Equal(["8080"], Ports(rules[3]));                       // Prometheus: metrics only
        Assert.Equal(["6379"], Ports(RenderedChart.Sequence(chart.Single("NetworkPolicy", "-redis"), "spec", "ingress").Cast<YamlMappingNode>().Single()));

        // The bundled Redis speaks only TLS with the same Secret, and the silos' connection string says so.
        YamlMappingNode redis = chart.Single("StatefulSet", "-redis");
        var redisArgs = RenderedChart.Sequence(RenderedChart.Sequence(redis, "spec", "template", "spec", "containers")[0], "args").Select(a => a.ToString()).ToList();
        Assert.Equal("0", redisArgs[redisArgs.IndexOf("--port") + 1]);
        Assert.Equal("yes", redisArgs[redisArgs.IndexOf("--tls-auth-clients") + 1]);
        Assert.EndsWith(",ssl=true", RenderedChart.Scalar(chart.Single("Secret", "-cluster"), "stringData", "redis-connection"));
    }

    [Fact]
    public void Cert_manager_issues_the_silo_certificate_into_the_secret_the_pods_mount()
    {
        RenderedChart chart = RenderedChart.Render("tls-cert-manager", ["ci/values-tls-certmanager.yaml"]);
        YamlMappingNode certificate = chart.Single("Certificate", "-tls");
        Assert.Equal("flatlora-tls", RenderedChart.Scalar(certificate, "spec", "secretName"));
        Assert.Equal("flatlora-ca", RenderedChart.Scalar(certificate, "spec", "issuerRef", "name"));
        var usages = RenderedChart.Sequence(certificate, "spec", "usages").Select(u => u.ToString()).ToList();
        Assert.Contains("server auth", usages);
        Assert.Contains("client auth", usages);
        foreach (string workload in new[] { "flatlora", "-redis" })
        {
            var volumes = RenderedChart.Sequence(chart.Single("StatefulSet", workload), "spec", "template", "spec", "volumes").Cast<YamlMappingNode>();
            Assert.Contains(volumes, v => RenderedChart.Scalar(v, "secret", "secretName") == "flatlora-tls");
        }
    }

    [Fact]
    public void Persistent_streams_take_their_connection_string_from_the_secret_and_memory_streams_need_none()
    {
        RenderedChart queues = RenderedChart.Render("streams-parts", ["ci/values-streams.yaml"]);
        Assert.Equal("AzureQueue", queues.SiloEnvironment["FlatLora__Silo__Streams"]);
        YamlMappingNode variable = RenderedChart.Sequence(queues.SiloContainer, "env").Cast<YamlMappingNode>()
            .Single(e => RenderedChart.Scalar(e, "name") == "FlatLora__Silo__StreamsConnectionString");
        Assert.Null(RenderedChart.Node(variable, "value"));   // never a plain value in the pod spec
        Assert.Equal("flatlora-streams", RenderedChart.Scalar(variable, "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("connection-string", RenderedChart.Scalar(variable, "valueFrom", "secretKeyRef", "key"));

        RenderedChart memory = RenderedChart.Render("streams-default", []);
        Assert.DoesNotContain("FlatLora__Silo__Streams", memory.SiloEnvironment.Keys);   // the silo's default: memory
    }

    [Fact]
    public void Every_silo_reads_one_generated_cluster_key_from_the_secret_never_from_a_plain_value()
    {
        RenderedChart chart = RenderedChart.Render("cluster-key", []);
        YamlMappingNode variable = RenderedChart.Sequence(chart.SiloContainer, "env").Cast<YamlMappingNode>()
            .Single(e => RenderedChart.Scalar(e, "name") == "FlatLora__Silo__ClusterKey");
        Assert.Null(RenderedChart.Node(variable, "value"));
        Assert.Equal("cluster-key", RenderedChart.Scalar(variable, "valueFrom", "secretKeyRef", "key"));
        string key = RenderedChart.Scalar(chart.Single("Secret", "-cluster"), "stringData", "cluster-key")!;
        Assert.Equal(32, Convert.FromBase64String(key).Length);
        Assert.NotEqual(key, RenderedChart.Scalar(RenderedChart.Render("cluster-key-2", []).Single("Secret", "-cluster"), "stringData", "cluster-key"));
    }

    [Fact]
    public void Projects_admins_and_an_oidc_issuer_reach_the_silos_as_auth_settings()
    {
        RenderedChart chart = RenderedChart.Render("auth", ["ci/values-auth.yaml"]);
        var env = chart.SiloEnvironment;
        Assert.Equal("Oidc", env["FlatLora__Silo__Auth__Mode"]);
        Assert.Equal("root", env["FlatLora__Silo__Auth__Admins__0"]);
        Assert.Equal("alice", env["FlatLora__Silo__Auth__Projects__nlp__Members__0"]);
        Assert.Equal("carol", env["FlatLora__Silo__Auth__Projects__nlp__Admins__0"]);
        Assert.Equal("https://issuer.example", env["FlatLora__Silo__Auth__Oidc__Authority"]);
        Assert.Equal("urn:flatlora:api", env["FlatLora__Silo__Auth__Oidc__Audience"]);
        // The default chart leaves identification to the silo (Auto) and says, on install, that nobody is identified.
        Assert.Equal("Auto", RenderedChart.Render("auth-default", []).SiloEnvironment["FlatLora__Silo__Auth__Mode"]);
    }

    [Fact]
    public void Projects_and_quotas_reach_every_silo_as_a_watched_scheduling_file_the_silo_accepts()
    {
        RenderedChart chart = RenderedChart.Render("scheduling", ["ci/values-auth.yaml"]);
        string json = RenderedChart.Scalar(chart.Single("ConfigMap", "-scheduling"), "data", "scheduling.json")!;
        string file = Path.Combine(Path.GetTempPath(), $"flatlora-scheduling-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        try
        {
            // Read the way a silo reads it: the same loader, the same checks.
            SchedulingSettings settings = new SchedulingFile(file).Load(new ConfigurationBuilder().Build());
            Assert.Empty(SchedulingSettingsCheck.Problems(settings));
            Assert.Equal(TimeSpan.FromMinutes(1), settings.PreemptAfter);
            ProjectQuota nlp = settings.Projects["nlp"];
            Assert.Equal((2.0, 4, 12, "normal"), (nlp.Weight, nlp.Guaranteed, nlp.Max, nlp.MaxPriority));
            Assert.Null(settings.Projects["vision"].Max);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Equal("/etc/flatlora/scheduling/scheduling.json", chart.SiloEnvironment["FlatLora__Silo__SchedulingFile"]);
        YamlMappingNode silo = chart.Single("StatefulSet", "flatlora");
        var volumes = RenderedChart.Sequence(silo, "spec", "template", "spec", "volumes");
        Assert.Contains(volumes, v => RenderedChart.Scalar(v, "name") == "scheduling" && RenderedChart.Scalar(v, "configMap", "name")!.EndsWith("-scheduling", StringComparison.Ordinal));
        // Not a subPath mount: the kubelet updates only whole mounted ConfigMaps, which is what makes an edit apply without a restart.
        var mounts = RenderedChart.Sequence((YamlMappingNode)RenderedChart.Sequence(silo, "spec", "template", "spec", "containers")[0], "volumeMounts");
        YamlNode mount = Assert.Single(mounts, m => RenderedChart.Scalar(m, "name") == "scheduling");
        Assert.Null(RenderedChart.Node(mount, "subPath"));
        // The default chart ships an empty project list, which a silo also accepts.
        string plain = RenderedChart.Scalar(RenderedChart.Render("scheduling-default", []).Single("ConfigMap", "-scheduling"), "data", "scheduling.json")!;
        Assert.Contains("\"PreemptAfter\": \"00:00:30\"", plain);
    }

    [Fact]
    public void Every_silo_setting_the_chart_sets_exists()
    {
        // A misspelt FlatLora__... variable would be ignored silently by .NET configuration.
        RenderedChart chart = RenderedChart.Render("settings", ["values-cpu.yaml", "ci/values-tls.yaml", "ci/values-streams.yaml", "ci/values-auth.yaml"]);
        var sections = new Dictionary<string, Type> { ["FlatLora__Silo__"] = typeof(SiloSettings), ["FlatLora__Cluster__"] = typeof(FlatLoraClusterOptions) };
        var settings = chart.SiloEnvironment.Keys.Where(k => k.StartsWith("FlatLora__", StringComparison.Ordinal)).ToList();
        Assert.True(settings.Count >= 15, string.Join(", ", settings));
        foreach (string variable in settings)
        {
            (string prefix, Type type) = sections.Select(s => (s.Key, s.Value)).Single(s => variable.StartsWith(s.Key, StringComparison.Ordinal));
            // Nested sections (Tls__Enabled) walk through the property types; a dictionary's key or an array's index
            // (Projects__nlp, Admins__0) walks into its values.
            foreach (string property in variable[prefix.Length..].Split("__"))
            {
                if (type.IsArray)
                {
                    Assert.True(int.TryParse(property, out _), $"{variable}: {property} is not an index into {type.Name}");
                    type = type.GetElementType()!;
                    continue;
                }
                if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
                {
                    type = type.GetGenericArguments()[1];
                    continue;
                }
                PropertyInfo? found = type.GetProperty(property, BindingFlags.Public | BindingFlags.Instance);
                Assert.True(found is not null, $"{variable}: {type.Name} has no property {property}");
                type = found.PropertyType;
            }
        }
    }

    [Fact]
    public void Dashboards_and_alert_rules_ship_unchanged()
    {
        RenderedChart chart = RenderedChart.Render("files", []);
        YamlMappingNode dashboards = chart.Single("ConfigMap", "-dashboards");
        Assert.Equal("1", RenderedChart.Scalar(dashboards, "metadata", "labels", "grafana_dashboard"));
        var data = (YamlMappingNode)RenderedChart.Node(dashboards, "data")!;
        string[] files = Directory.GetFiles(Path.Combine(DeployTools.Chart, "dashboards"), "*.json");
        Assert.Equal(3, files.Length);
        Assert.Equal(files.Length, data.Children.Count);
        foreach (string file in files)
        {
            string shipped = RenderedChart.Scalar(data, Path.GetFileName(file))!;
            using JsonDocument a = JsonDocument.Parse(shipped), b = JsonDocument.Parse(File.ReadAllText(file));
            Assert.True(JsonElement.DeepEquals(a.RootElement, b.RootElement), Path.GetFileName(file));
        }

        var alerts = RenderedChart.Sequence((YamlMappingNode)RenderedChart.Sequence(chart.Single("PrometheusRule", "flatlora"), "spec", "groups")[0], "rules")
            .Select(r => RenderedChart.Scalar(r, "alert")).ToList();
        Assert.Equal(["FlatLoraRunStalled", "FlatLoraShardDown", "FlatLoraDevicesDown", "FlatLoraNonFiniteLoss", "FlatLoraQueueStuck"], alerts);
    }

    [Theory]
    [InlineData("mode=tpu", "mode must be one of the following")]
    [InlineData("replica=3", "Additional property replica is not allowed")]
    [InlineData("cluster.heartbeatTimeout=30s", "heartbeatTimeout")]
    [InlineData("redis.enabled=false", "redis.external.address is required when redis.enabled is false")]
    [InlineData("tls.enabled=true", "tls.existingSecret (a Secret with tls.crt, tls.key and ca.crt) or tls.certManager.enabled is required when tls.enabled is true")]
    [InlineData("tls.certManager.duration=90d", "duration")]
    [InlineData("networkPolicy.enable=true", "Additional property enable is not allowed")]
    [InlineData("streams.provider=kafka", "streams.provider must be one of the following")]
    [InlineData("scheduling.projects.nlp.weight=-1", "weight")]
    [InlineData("scheduling.projects.nlp.maxPriority=critical", "maxPriority must be one of the following")]
    [InlineData("streams.provider=azureQueue", "streams.connectionSecret.name (a Secret with the Azure Storage connection string) is required when streams.provider is azureQueue")]
    public void Bad_values_fail_naming_the_value(string set, string message)
    {
        (int exit, string output) = DeployTools.Exec(DeployTools.Helm, ["template", "flatlora", DeployTools.Chart, "--set", set]);
        Assert.NotEqual(0, exit);
        Assert.Contains(message, output);
    }
}
