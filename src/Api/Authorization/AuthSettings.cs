namespace FlatLora.Api.Authorization;

/// <summary>
/// Section "FlatLora:Silo:Auth": how the API identifies callers and who may do what. Policy is configuration (the
/// Helm values' projects and admins), re-read on every request, so a change applies without a restart.
/// </summary>
public sealed class AuthSettings
{
    public const string Section = "FlatLora:Silo:Auth";

    /// <summary>
    /// Certificate (the user is the client certificate's CN, the project its O), Oidc (bearer JWTs), None (every caller
    /// is "local"; logged as a warning at every start), or Auto: Certificate with TLS, Oidc when an authority is set,
    /// else None.
    /// </summary>
    public string Mode { get; set; } = "Auto";

    public OidcSettings Oidc { get; set; } = new();

    /// <summary>Users who may do everything, on every project (besides certificates issued with --role admin).</summary>
    public string[] Admins { get; set; } = [];

    /// <summary>
    /// Projects by name. When any is listed, a caller's project must be one of them, and where a project lists members
    /// the caller must be one to submit to it.
    /// </summary>
    public Dictionary<string, ProjectSettings> Projects { get; set; } = new(StringComparer.Ordinal);
}

public sealed class ProjectSettings
{
    /// <summary>Who may submit to the project and read its runs (empty: anyone whose identity names the project).</summary>
    public string[] Members { get; set; } = [];

    /// <summary>Members who may also cancel anyone's runs in the project.</summary>
    public string[] Admins { get; set; } = [];
}

/// <summary>Section "FlatLora:Silo:Auth:Oidc": bearer tokens from an OpenID Connect issuer, validated against its published keys.</summary>
public sealed class OidcSettings
{
    /// <summary>The issuer (its /.well-known/openid-configuration names the signing keys).</summary>
    public string? Authority { get; set; }

    /// <summary>The audience every token must carry (the API's resource name).</summary>
    public string? Audience { get; set; }

    public string UserClaim { get; set; } = "sub";
    public string ProjectClaim { get; set; } = "project";

    /// <summary>A claim whose values are roles; the value "admin" makes a cluster admin.</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>Fetch the issuer's metadata over https only (false only for a test issuer on loopback).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>How far the issuer's clock may be off: a token is taken this long past its expiry.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}
