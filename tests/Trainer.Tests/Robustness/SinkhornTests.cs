using FlatLora.Trainer.Robustness;

namespace FlatLora.Trainer.Tests.Robustness;

public class SinkhornTests
{
    private static double[,] RandomCost(int n, int m, int seed)
    {
        var random = new Random(seed);
        var cost = new double[n, m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
                cost[i, j] = random.NextDouble();
        }
        return cost;
    }

    [Theory]
    [InlineData(3, 5, 0.5)]
    [InlineData(6, 4, 0.05)]
    [InlineData(7, 7, 0.01)]
    public void The_plan_has_the_requested_marginals(int n, int m, double epsilon)
    {
        double[,] cost = RandomCost(n, m, n * 31 + m);
        double[] a = Enumerable.Range(1, n).Select(i => (double)i).ToArray(), b = Enumerable.Range(1, m).Select(j => 1.0 + j % 3).ToArray();
        TransportPlan plan = Sinkhorn.Solve(cost, a, b, epsilon, maxIterations: 50000, tolerance: 1e-10);
        Assert.True(plan.Converged, $"not converged after {plan.Iterations} iterations");
        for (int i = 0; i < n; i++)
            Assert.Equal(a[i] / a.Sum(), Enumerable.Range(0, m).Sum(j => plan.Plan[i, j]), 1e-8);
        for (int j = 0; j < m; j++)
            Assert.Equal(b[j] / b.Sum(), Enumerable.Range(0, n).Sum(i => plan.Plan[i, j]), 1e-8);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    public void Small_epsilon_matches_exact_optimal_transport(int n)
    {
        // With equal uniform masses the optimum is a permutation (Birkhoff): brute force gives the exact cost.
        double[,] cost = RandomCost(n, n, n);
        double exact = Permutations(Enumerable.Range(0, n).ToArray()).Min(perm => perm.Select((j, i) => cost[i, j]).Sum()) / n;
        double[] uniform = Enumerable.Repeat(1.0, n).ToArray();
        TransportPlan plan = Sinkhorn.Solve(cost, uniform, uniform, epsilon: 1e-3, maxIterations: 200000, tolerance: 1e-9);
        Assert.True(plan.Converged, $"not converged after {plan.Iterations} iterations");
        Assert.Equal(exact, plan.Cost, 3e-3);
        Assert.True(plan.Cost >= exact - 1e-6, "a feasible plan cannot beat the exact optimum");
    }

    [Fact]
    public void Tiny_epsilon_stays_finite_where_the_plain_iteration_would_underflow()
    {
        double[,] cost = RandomCost(8, 8, 3);
        for (int i = 0; i < 8; i++)
            cost[i, i] += 50;   // exp(−50/1e-4) is 0 in double precision: the non-log iteration divides by zero
        double[] uniform = Enumerable.Repeat(1.0, 8).ToArray();
        TransportPlan plan = Sinkhorn.Solve(cost, uniform, uniform, epsilon: 1e-4, maxIterations: 5000);
        Assert.All(plan.Plan.Cast<double>(), v => Assert.True(double.IsFinite(v)));
        Assert.True(double.IsFinite(plan.Cost));
        Assert.True(plan.Cost < 1, $"cost {plan.Cost}: the expensive diagonal should be avoided");
    }

    [Fact]
    public void Identical_embeddings_cost_nothing_and_a_replaced_segment_carries_the_drift()
    {
        float[][] clean = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
        float[][] same = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
        double[] uniform = [1, 1, 1];
        double[,] cost = Sinkhorn.CosineCost(clean, same);
        Assert.Equal(0, Sinkhorn.Solve(cost, uniform, uniform, 0.01).Cost, 1e-6);

        float[][] drifted = [[1, 0, 0], [0, 1, 0], [-0.6f, -0.8f, 0]];   // the third segment changed meaning
        double[,] driftCost = Sinkhorn.CosineCost(clean, drifted);
        TransportPlan plan = Sinkhorn.Solve(driftCost, uniform, uniform, 0.01);
        double[] drift = plan.RowCosts(driftCost).Select(c => c / (1.0 / 3)).ToArray();
        Assert.Equal(2, Array.IndexOf(drift, drift.Max()));
        Assert.True(drift[0] < 0.05 && drift[1] < 0.05, string.Join(", ", drift));
        Assert.Equal(2, plan.BestColumn(2));
    }

    [Fact]
    public void Bad_inputs_are_refused_with_the_reason()
    {
        Assert.Contains("masses of length", Assert.Throws<ArgumentException>(() => Sinkhorn.Solve(new double[2, 2], [1], [1, 1], 0.1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sinkhorn.Solve(new double[1, 1], [1], [1], 0));
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => Sinkhorn.Solve(new double[1, 2], [1], [1, 0], 0.1)).Message);
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }
        for (int i = 0; i < items.Length; i++)
        {
            int[] rest = items.Where((_, k) => k != i).ToArray();
            foreach (int[] tail in Permutations(rest))
                yield return [items[i], .. tail];
        }
    }
}
