namespace FlatLora.Api.Errors;

/// <summary>The policy refused the caller; the message names the caller, the action and why (gRPC PERMISSION_DENIED, CLI exit 4).</summary>
public sealed class AccessDeniedException(string message) : Exception(message);
