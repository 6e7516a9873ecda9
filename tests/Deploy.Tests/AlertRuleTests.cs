namespace FlatLora.Deploy.Tests;

/// <summary>The alert rules: promtool checks them and runs their unit tests; a broken rule makes those tests fail.</summary>
public sealed class AlertRuleTests
{
    private static string Rules => Path.Combine(DeployTools.Chart, "rules");

    [Fact]
    public void Rules_are_valid_and_their_promtool_tests_pass()
    {
        (int exit, string output) = DeployTools.Exec(DeployTools.Promtool, ["check", "rules", "flatlora-alerts.yaml"], Rules);
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS: 5 rules found", output);
        (exit, output) = DeployTools.Exec(DeployTools.Promtool, ["test", "rules", "flatlora-alerts.test.yaml"], Rules);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void A_stall_threshold_change_breaks_the_rule_tests()
    {
        string copy = Path.Combine(Path.GetTempPath(), $"flatlora-rules-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(Rules, "flatlora-alerts.test.yaml"), Path.Combine(copy, "flatlora-alerts.test.yaml"));
        string rules = File.ReadAllText(Path.Combine(Rules, "flatlora-alerts.yaml"));
        Assert.Contains("> 600", rules);
        File.WriteAllText(Path.Combine(copy, "flatlora-alerts.yaml"), rules.Replace("> 600", "> 6000", StringComparison.Ordinal));
        (int exit, string output) = DeployTools.Exec(DeployTools.Promtool, ["test", "rules", "flatlora-alerts.test.yaml"], copy);
        Assert.NotEqual(0, exit);
        Assert.Contains("FlatLoraRunStalled", output);
        Directory.Delete(copy, recursive: true);
    }
}
