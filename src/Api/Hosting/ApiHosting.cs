using System.Net;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Api.Audit;
using FlatLora.Api.Authorization;
using FlatLora.Api.Identity;
using FlatLora.Api.Services;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlatLora.Api.Hosting;

/// <summary>
/// TLS on the API port: the silo's certificate, and whether (and against which CA) a client certificate is required.
/// Null on a plaintext API (HTTP/2 without TLS).
/// </summary>
public sealed record ApiTls(X509Certificate2 Certificate, Func<X509Certificate2, bool> IsTrusted, bool RequireClientCertificate);

/// <summary>
/// The public API in a host: its services (gRPC, and the same over HTTP/JSON), the caller's identification, the
/// policy, the audit, and its own Kestrel endpoint. A silo and the CLI's in-process silo serve it the same way.
/// </summary>
public static class ApiHosting
{
    /// <summary>How callers are identified, from the Auth settings and whether the API runs TLS; throws naming a setting that cannot work.</summary>
    public static AuthMode ResolveMode(AuthSettings settings, bool tls) => settings.Mode.ToLowerInvariant() switch
    {
        "auto" => tls ? AuthMode.Certificate : settings.Oidc.Authority is { Length: > 0 } ? AuthMode.Oidc : AuthMode.None,
        "certificate" when !tls => throw new ArgumentException($"{AuthSettings.Section}:Mode=Certificate needs TLS (FlatLora:Silo:Tls:Enabled)"),
        "certificate" => AuthMode.Certificate,
        "oidc" when settings.Oidc.Authority is not { Length: > 0 } => throw new ArgumentException($"{AuthSettings.Section}:Oidc:Authority must name the token issuer for Mode=Oidc"),
        "oidc" when settings.Oidc.Audience is not { Length: > 0 } => throw new ArgumentException($"{AuthSettings.Section}:Oidc:Audience must name this API's audience for Mode=Oidc"),
        "oidc" => AuthMode.Oidc,
        "none" => AuthMode.None,
        _ => throw new ArgumentException($"{AuthSettings.Section}:Mode must be Auto, Certificate, Oidc or None (got '{settings.Mode}')"),
    };

    /// <summary>What weakens an API of this mode, in words.</summary>
    public static IReadOnlyList<string> Warnings(AuthMode mode, bool tls) => (mode, tls) switch
    {
        (AuthMode.None, _) => [$"API authentication is off ({AuthSettings.Section}:Mode=None, or no TLS and no OIDC issuer): every caller is 'local' and may do everything"],
        (AuthMode.Oidc, false) => ["API bearer tokens travel without TLS: anyone on the network can read and reuse them"],
        _ => [],
    };

    public static IServiceCollection AddFlatLoraApi(this IServiceCollection services, IConfiguration configuration, AuthMode mode)
    {
        services.Configure<AuthSettings>(configuration.GetSection(AuthSettings.Section));
        services.AddSingleton(sp => new CallerResolver(mode, sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<AuthSettings>>()));
        services.AddSingleton<ApiAudit>();
        services.AddSingleton<ApiGate>();
        services.AddSingleton<RunLookup>();
        services.AddGrpc().AddJsonTranscoding();
        // The interceptor (identity, errors, counting) is the API services' own: the ring's control service shares the host.
        services.AddGrpc()
            .AddServiceOptions<ExperimentsApi>(o => o.Interceptors.Add<ApiInterceptor>())
            .AddServiceOptions<SweepsApi>(o => o.Interceptors.Add<ApiInterceptor>())
            .AddServiceOptions<ClusterApi>(o => o.Interceptors.Add<ApiInterceptor>())
            .AddServiceOptions<ArtifactsApi>(o => o.Interceptors.Add<ApiInterceptor>());
        if (mode == AuthMode.Oidc)
        {
            OidcSettings oidc = configuration.GetSection(AuthSettings.Section).Get<AuthSettings>()?.Oidc ?? new OidcSettings();
            services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
            {
                o.Authority = oidc.Authority;
                o.Audience = oidc.Audience;
                o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
                o.MapInboundClaims = false;   // claims keep their token names (sub, project, roles)
                o.TokenValidationParameters.ValidateAudience = true;
                o.TokenValidationParameters.ValidateIssuer = true;
                o.TokenValidationParameters.ValidateLifetime = true;
                o.TokenValidationParameters.ClockSkew = oidc.ClockSkew;
            });
        }
        return services;
    }

    public static WebApplication MapFlatLoraApi(this WebApplication app)
    {
        app.Use((context, next) => JsonFieldGuard.InvokeAsync(context, () => next(context)));
        app.MapGrpcService<ExperimentsApi>();
        app.MapGrpcService<SweepsApi>();
        app.MapGrpcService<ClusterApi>();
        app.MapGrpcService<ArtifactsApi>();
        return app;
    }

    /// <summary>
    /// The API's port: HTTP/2 and HTTP/1.1 over TLS (ALPN), with the client certificate checked against the cluster CA
    /// where required; without TLS HTTP/2 only (gRPC needs it, and a plaintext port cannot negotiate it).
    /// </summary>
    public static void ListenApi(this KestrelServerOptions kestrel, IPEndPoint endpoint, ApiTls? tls) => kestrel.Listen(endpoint, listen =>
    {
        if (tls is null)
        {
            listen.Protocols = HttpProtocols.Http2;
            return;
        }
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.Certificate,
            ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = (certificate, _, _) => tls.IsTrusted(certificate),
            SslProtocols = System.Security.Authentication.SslProtocols.Tls13 | System.Security.Authentication.SslProtocols.Tls12,
        });
    });
}
