using FlatLora.Abstractions.Security;
using FlatLora.Grains.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using StackExchange.Redis;

namespace FlatLora.Silo;

/// <summary>
/// Keeps Orleans' Redis membership table alive when Redis loses it (a restart without persistence, an evicting cache).
/// Orleans alone never recovers: its silos keep their last view, because an empty table is older than it; clients
/// find no gateway; and a silo that joins the empty table starts a second cluster. Each round this silo reads the
/// table (one hash); while its own row is there it keeps a copy. When its row is gone it writes that copy back in one
/// atomic script: every row it knew (rows written since are kept), with the table version raised above every live
/// silo's view, so all of them adopt the rebuilt table at their next read, each finding itself in it (a silo that
/// found itself missing from a newer table would stop). It logs what happened and /health reports it.
/// </summary>
internal sealed partial class RedisMembershipGuard(
    SiloSettings settings,
    ClusterTls? tls,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    IOptions<FlatLoraClusterOptions> options,
    MembershipHealth health,
    ILogger<RedisMembershipGuard> logger) : BackgroundService
{
    /// <summary>How far the rebuilt table's version jumps past the newest this silo knew: above any other silo's view.</summary>
    private const long VersionMargin = 100;
    private const string VersionField = "Version";

    // Restores the rows (field, value pairs from ARGV[3]) unless the caller's row came back meanwhile, and raises the
    // version to at least ARGV[2]; returns 1 when it rebuilt.
    private const string RestoreScript = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
        for i = 3, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
        local version = tonumber(redis.call('HGET', KEYS[1], 'Version') or '-1')
        if version == nil or version < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'Version', ARGV[2]) end
        return 1
        """;

    private HashEntry[]? _lastGood;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        RedisKey table = $"{cluster.Value.ServiceId}/members/{cluster.Value.ClusterId}";
        string me = silo.SiloAddress.ToString();
        ConnectionMultiplexer? redis = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(options.Value.MembershipCheckInterval, stoppingToken);
                    if (!IsActive())
                        continue;
                    redis ??= await ConnectionMultiplexer.ConnectAsync(RedisConnections.Options(settings.Redis!, tls));
                    await CheckAsync(redis.GetDatabase(), table, me);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    health.Unreachable(e.Message);
                    LogUnreachable(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (redis is not null)
                await redis.DisposeAsync();
        }
    }

    private bool IsActive() =>
        membership.CurrentSnapshot.Members.TryGetValue(silo.SiloAddress, out ClusterMember? member) && member.Status == SiloStatus.Active;

    private async Task CheckAsync(IDatabase db, RedisKey table, string me)
    {
        HashEntry[] rows = await db.HashGetAllAsync(table);
        if (rows.Any(r => r.Name == me))
        {
            _lastGood = rows;
            health.Read(rows.Count(r => r.Name != VersionField), VersionOf(rows));
            return;
        }
        if (_lastGood is null)
            return;   // never seen itself in the table yet (still joining): nothing to restore from
        long version = Math.Max(VersionOf(_lastGood), membership.CurrentSnapshot.Version.Value) + VersionMargin;
        RedisValue[] arguments = [me, version, .. _lastGood.Where(r => r.Name != VersionField).SelectMany(r => new[] { r.Name, r.Value })];
        bool rebuilt = (int)await db.ScriptEvaluateAsync(RestoreScript, [table], arguments) == 1;
        int restored = _lastGood.Count(r => r.Name != VersionField);
        if (rebuilt)
        {
            string what = $"the membership table was lost (Redis restarted without persistence, or evicted it): silo {silo.Name} wrote back " +
                          $"{restored} silo row(s) at version {version}";
            health.Rebuilt(what, DateTime.UtcNow);
            LogRebuilt(logger, what);
        }
    }

    private static long VersionOf(HashEntry[] rows) =>
        rows.FirstOrDefault(r => r.Name == VersionField).Value is { HasValue: true } value && long.TryParse(value.ToString(), out long version) ? version : 0;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Membership: {What}")]
    private static partial void LogRebuilt(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Membership: the Redis membership table cannot be read: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string error);
}
