using FlatLora.Client.Cluster;

namespace FlatLora.Client.Tests;

/// <summary>
/// A sweep's trials are experiments whose ids extend the sweep's ("sweep-…-c004"): `results`, `status`, `watch` and
/// `export` of a trial must treat it as the experiment it is (they called it an unknown sweep before).
/// </summary>
public sealed class RunIdKindTests
{
    [Theory]
    [InlineData("sweep-20261207-190721-46dd47", true)]
    [InlineData("sweep-20261207-190721-46dd47-c004", false)]
    [InlineData("sweep-20261207-190721-46dd47-c1234", false)]
    [InlineData("exp-20261207-190721-46dd47", false)]
    [InlineData("sweep-lr-cosine", true)]
    public void A_trial_of_a_sweep_is_an_experiment(string id, bool sweep) => Assert.Equal(sweep, ApiSession.IsSweepId(id));
}
