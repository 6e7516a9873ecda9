namespace FlatLora.Trainer.Robustness;

/// <summary>An entropic transport plan between two discrete distributions and its cost ⟨P, C⟩.</summary>
public sealed record TransportPlan(double[,] Plan, double Cost, int Iterations, bool Converged)
{
    public int Rows => Plan.GetLength(0);
    public int Columns => Plan.GetLength(1);

    /// <summary>Σⱼ Pᵢⱼ·Cᵢⱼ for each row: the cost of moving row i's mass.</summary>
    public double[] RowCosts(double[,] cost) => Enumerable.Range(0, Rows).Select(i => Enumerable.Range(0, Columns).Sum(j => Plan[i, j] * cost[i, j])).ToArray();

    public double[] ColumnCosts(double[,] cost) => Enumerable.Range(0, Columns).Select(j => Enumerable.Range(0, Rows).Sum(i => Plan[i, j] * cost[i, j])).ToArray();

    /// <summary>The column receiving most of row i's mass.</summary>
    public int BestColumn(int row) => Enumerable.Range(0, Columns).MaxBy(j => Plan[row, j]);
}

/// <summary>
/// Entropic optimal transport by Sinkhorn iterations in the log domain: the dual potentials are updated with
/// log-sum-exp, so tiny ε (sharp plans) neither underflows nor overflows. Solves
/// min ⟨P, C⟩ − ε·H(P) subject to P·1 = a and Pᵀ·1 = b; as ε → 0 this tends to exact optimal transport.
/// </summary>
public static class Sinkhorn
{
    public static TransportPlan Solve(double[,] cost, double[] a, double[] b, double epsilon, int maxIterations = 5000, double tolerance = 1e-7)
    {
        int n = cost.GetLength(0), m = cost.GetLength(1);
        if (n == 0 || m == 0)
            throw new ArgumentException($"empty cost matrix ({n}×{m})", nameof(cost));
        if (a.Length != n || b.Length != m)
            throw new ArgumentException($"masses of length {a.Length} and {b.Length} do not fit a {n}×{m} cost matrix");
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), $"epsilon must be positive (got {epsilon})");
        double[] p = Normalise(a, nameof(a)), q = Normalise(b, nameof(b));
        foreach (double c in cost)
        {
            if (!double.IsFinite(c))
                throw new ArgumentException("the cost matrix has a non-finite entry", nameof(cost));
        }

        double[] logP = p.Select(w => Math.Log(w)).ToArray(), logQ = q.Select(w => Math.Log(w)).ToArray();
        double[] f = new double[n], g = new double[m];
        double[] scratch = new double[Math.Max(n, m)];
        // ε-scaling: solve for a large ε first and shrink it, warm-starting the potentials. A small ε alone
        // converges very slowly (the rate degrades like exp(−C/ε)); the schedule reaches it in far fewer sweeps.
        double maxCost = cost.Cast<double>().Max(), stage = Math.Max(epsilon, maxCost);
        int iteration = 0;
        bool converged = false;
        while (true)
        {
            bool last = stage <= epsilon;
            double stageTolerance = last ? tolerance : Math.Max(tolerance, 1e-3);
            bool stageConverged = false;
            while (iteration < maxIterations && !stageConverged)
            {
                iteration++;
                stageConverged = Sweep(cost, logP, logQ, p, f, g, scratch, stage) < stageTolerance;
            }
            if (last || iteration >= maxIterations)
            {
                converged = last && stageConverged;
                break;
            }
            stage = Math.Max(epsilon, stage * 0.5);
        }

        var plan = new double[n, m];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                plan[i, j] = Math.Exp((f[i] + g[j] - cost[i, j]) / epsilon);
                total += plan[i, j] * cost[i, j];
            }
        }
        return new TransportPlan(plan, total, iteration, converged);
    }

    /// <summary>One pair of log-domain updates (f, then g) at <paramref name="epsilon"/>; returns the rows' L1 marginal error.</summary>
    private static double Sweep(double[,] cost, double[] logP, double[] logQ, double[] p, double[] f, double[] g, double[] scratch, double epsilon)
    {
        int n = f.Length, m = g.Length;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
                scratch[j] = (g[j] - cost[i, j]) / epsilon;
            f[i] = epsilon * (logP[i] - LogSumExp(scratch, m));
        }
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < n; i++)
                scratch[i] = (f[i] - cost[i, j]) / epsilon;
            g[j] = epsilon * (logQ[j] - LogSumExp(scratch, n));
        }
        // Columns match exactly after the g update; the rows' error measures convergence.
        double error = 0;
        for (int i = 0; i < n; i++)
        {
            double row = 0;
            for (int j = 0; j < m; j++)
                row += Math.Exp((f[i] + g[j] - cost[i, j]) / epsilon);
            error += Math.Abs(row - p[i]);
        }
        return error;
    }

    /// <summary>1 − cosine similarity between every row of <paramref name="x"/> and of <paramref name="y"/>.</summary>
    public static double[,] CosineCost(IReadOnlyList<float[]> x, IReadOnlyList<float[]> y)
    {
        var cost = new double[x.Count, y.Count];
        for (int i = 0; i < x.Count; i++)
        {
            for (int j = 0; j < y.Count; j++)
                cost[i, j] = 1 - Cosine(x[i], y[j]);
        }
        return cost;
    }

    public static double Cosine(float[] x, float[] y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"vectors of length {x.Length} and {y.Length}");
        double dot = 0, xx = 0, yy = 0;
        for (int k = 0; k < x.Length; k++)
        {
            dot += (double)x[k] * y[k];
            xx += (double)x[k] * x[k];
            yy += (double)y[k] * y[k];
        }
        return xx == 0 || yy == 0 ? 0 : dot / Math.Sqrt(xx * yy);
    }

    private static double[] Normalise(double[] masses, string name)
    {
        if (masses.Any(w => !(w > 0) || !double.IsFinite(w)))
            throw new ArgumentException($"masses must be positive and finite ({name})", name);
        double sum = masses.Sum();
        return masses.Select(w => w / sum).ToArray();
    }

    private static double LogSumExp(double[] values, int count)
    {
        double max = double.NegativeInfinity;
        for (int k = 0; k < count; k++)
            max = Math.Max(max, values[k]);
        if (double.IsNegativeInfinity(max))
            return max;
        double sum = 0;
        for (int k = 0; k < count; k++)
            sum += Math.Exp(values[k] - max);
        return max + Math.Log(sum);
    }
}
