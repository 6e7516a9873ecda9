namespace FlatLora.Api.Identity;

/// <summary>How this silo's API identifies callers, decided once at start from <see cref="Authorization.AuthSettings.Mode"/>.</summary>
public enum AuthMode
{
    /// <summary>Mutual TLS: the user is the client certificate's CN, the project its O, the role its OU.</summary>
    Certificate,

    /// <summary>Bearer JWTs from an OpenID Connect issuer.</summary>
    Oidc,

    /// <summary>No authentication: every caller is "local" (the in-process silo, the demo, or an explicit choice that warns).</summary>
    None,
}

/// <summary>Why a caller could not be identified: the API answers Unauthenticated with this message, never a trace.</summary>
public sealed class UnidentifiedCallerException(string message) : Exception(message);
