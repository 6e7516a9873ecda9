using System.Text.Json;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http;

namespace FlatLora.Api.Hosting;

/// <summary>
/// The JSON side of the API refuses a field its request message does not have (gRPC JSON transcoding drops unknown
/// fields silently, so a misspelt "spcc" would submit an empty spec): 400 with one message naming the field, in the
/// transcoder's own error shape. gRPC requests pass untouched (protobuf keeps unknown fields apart).
/// </summary>
internal static class JsonFieldGuard
{
    private const int MaxInspectedBytes = 4 << 20;

    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        MessageDescriptor? request = context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>()?.MethodDescriptor.InputType;
        if (request is null || context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true
            || context.Request.ContentLength is > MaxInspectedBytes)
        {
            await next().ConfigureAwait(false);
            return;
        }
        context.Request.EnableBuffering();
        string? unknown;
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            unknown = FirstUnknown(body.RootElement, request, "");
        }
        catch (JsonException)
        {
            unknown = null;   // not JSON: the transcoder says so itself
        }
        context.Request.Body.Position = 0;
        if (unknown is null)
        {
            await next().ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            code = 3,
            message = $"{unknown}: {request.Name} has no such field (fields: {string.Join(", ", request.Fields.InDeclarationOrder().Select(f => f.JsonName))})",
            details = Array.Empty<object>(),
        }), context.RequestAborted).ConfigureAwait(false);
    }

    private static string? FirstUnknown(JsonElement element, MessageDescriptor message, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
            return null;
        foreach (JsonProperty property in element.EnumerateObject())
        {
            FieldDescriptor? field = message.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name || f.Name == property.Name);
            string here = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (field is null)
                return here;
            if (field.FieldType == FieldType.Message && !field.IsMap && field.MessageType.FullName.StartsWith("flatlora.", StringComparison.Ordinal))
            {
                string? inner = field.IsRepeated && property.Value.ValueKind == JsonValueKind.Array
                    ? property.Value.EnumerateArray().Select(item => FirstUnknown(item, field.MessageType, here)).FirstOrDefault(u => u is not null)
                    : FirstUnknown(property.Value, field.MessageType, here);
                if (inner is not null)
                    return inner;
            }
        }
        return null;
    }
}
