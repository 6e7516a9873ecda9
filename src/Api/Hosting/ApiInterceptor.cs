using FlatLora.Api.Audit;
using FlatLora.Api.Errors;
using FlatLora.Api.Identity;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace FlatLora.Api.Hosting;

/// <summary>
/// Runs around every public API call: identifies the caller before the service sees the request, turns any failure
/// into one clear gRPC status (<see cref="ApiErrors"/>), logs an unexpected one with its trace and an id, and counts
/// each request by method and outcome.
/// </summary>
public sealed partial class ApiInterceptor(CallerResolver callers, ApiAudit audit, ILogger<ApiInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        string method = MethodName(context);
        try
        {
            context.SetCaller(await callers.ResolveAsync(context.GetHttpContext()).ConfigureAwait(false));
            TResponse response = await continuation(request, context).ConfigureAwait(false);
            audit.Count(method, "ok");
            return response;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Fail(method, e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        string method = MethodName(context);
        try
        {
            context.SetCaller(await callers.ResolveAsync(context.GetHttpContext()).ConfigureAwait(false));
            await continuation(request, responseStream, context).ConfigureAwait(false);
            audit.Count(method, "ok");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Fail(method, e);
        }
    }

    private RpcException Fail(string method, Exception e)
    {
        (_, string outcome) = ApiErrors.Classify(e);
        audit.Count(method, outcome);
        string errorId = Guid.NewGuid().ToString("N")[..12];
        if (outcome == "error")
            LogUnexpected(logger, e, method, errorId);
        return ApiErrors.ToRpc(e, errorId);
    }

    // "/flatlora.v1.Experiments/Submit" -> "Experiments.Submit": a bounded label.
    private static string MethodName(ServerCallContext context)
    {
        string[] parts = context.Method.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 ? $"{parts[0][(parts[0].LastIndexOf('.') + 1)..]}.{parts[1]}" : context.Method;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "API {Method} failed unexpectedly (error {ErrorId})")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string errorId);
}
