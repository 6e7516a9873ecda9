using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using FlatLora.Abstractions.Security;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FlatLora.Client.Cluster;

/// <summary>
/// After a failed connect, finds out whether the cluster id was the reason, and which cluster answered instead: a
/// gateway of another cluster says so in its connection preamble (Orleans' client only logs it and retries until it
/// gives up), and Redis holds membership under one key per cluster id.
/// </summary>
internal sealed partial class ClusterIdProbe : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<string> _answeredFor = new();

    [GeneratedRegex("Unexpected cluster id \"(?<theirs>[^\"]*)\", expected \"(?<ours>[^\"]*)\"")]
    private static partial Regex UnexpectedClusterId();

    /// <summary>The cluster id a gateway answered for, when one answered for another cluster.</summary>
    public string? GatewayClusterId => _answeredFor.TryPeek(out string? id) ? id : null;

    /// <summary>Why the cluster id was wrong, in words, or null when it was not the reason.</summary>
    public async Task<string?> DescribeAsync(ConnectionOptions options, ClusterTls? tls)
    {
        if (GatewayClusterId is string theirs)
            return $"the gateway at {options.Gateway} answered for cluster id '{theirs}', not '{options.ClusterId}' (pass --cluster-id {theirs})";
        if (options.Redis is null)
            return null;
        try
        {
            using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(RedisConnections.Options(options.Redis, tls)).ConfigureAwait(false);
            // One hash per cluster, "{service}/members/{cluster}": a version field, then one field per silo. (The
            // client itself may have created an empty one for the id it was given.)
            IDatabase db = redis.GetDatabase();
            string ours = $"{options.ServiceId}/members/{options.ClusterId}";
            if (await db.HashLengthAsync(ours).ConfigureAwait(false) > 1)
                return null;
            var others = new SortedSet<string>(StringComparer.Ordinal);
            foreach (IServer server in redis.GetServers())
            {
                await foreach (RedisKey key in server.KeysAsync(pattern: "*/members/*", pageSize: 100).ConfigureAwait(false))
                {
                    if (await db.HashLengthAsync(key).ConfigureAwait(false) > 1)
                        others.Add(key.ToString()[(key.ToString().IndexOf("/members/", StringComparison.Ordinal) + "/members/".Length)..]);
                }
            }
            string known = others.Count == 0 ? "it holds no cluster's membership"
                : $"it holds cluster id(s) {string.Join(", ", others.Take(10).Select(id => $"'{id}'"))}";
            return $"Redis holds no silo of cluster id '{options.ClusterId}'; {known} (pass --cluster-id)";
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;   // Redis itself failed: the caller's own message says so
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (UnexpectedClusterId().Match(e.Message) is { Success: true } match)
                _answeredFor.Enqueue(match.Groups["theirs"].Value);
        }
    }

    public void Dispose()
    {
    }
}
