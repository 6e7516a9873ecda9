using Grpc.Core;

namespace FlatLora.Api.Identity;

/// <summary>The identified caller of a call, which <see cref="Hosting.ApiInterceptor"/> puts on its context before any service runs.</summary>
public static class CallContext
{
    private const string Key = "flatlora.caller";

    public static void SetCaller(this ServerCallContext context, Caller caller) => context.UserState[Key] = caller;

    public static Caller Caller(this ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out object? caller) && caller is Caller known ? known
            : throw new InvalidOperationException("no caller was established for this call");

    /// <summary>Where the call came from ("ipv4:10.0.0.7:51234"), for the audit log.</summary>
    public static string Peer(this ServerCallContext context) => context.Peer;
}
