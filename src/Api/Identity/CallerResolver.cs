using FlatLora.Api.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace FlatLora.Api.Identity;

/// <summary>
/// Establishes who is calling, from what the connection proves: the TLS client certificate Kestrel verified against the
/// cluster CA, or a bearer token JwtBearer validated against the issuer's keys. Nothing the client sends about itself
/// counts. Throws <see cref="UnidentifiedCallerException"/> with the reason in words.
/// </summary>
public sealed class CallerResolver(AuthMode mode, IOptionsMonitor<AuthSettings> settings)
{
    public AuthMode Mode => mode;

    public async Task<Caller> ResolveAsync(HttpContext http)
    {
        switch (mode)
        {
            case AuthMode.None:
                return Caller.Local;
            case AuthMode.Certificate:
                return http.Connection.ClientCertificate is { } certificate ? CertificateCaller.From(certificate)
                    : throw new UnidentifiedCallerException("no client certificate: this cluster's API takes mutual TLS (pass --tls-dir DIR or set $FLATLORA_TLS_DIR)");
            default:
                AuthenticateResult result = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme).ConfigureAwait(false);
                if (result.Succeeded)
                    return TokenCaller.From(result.Principal, settings.CurrentValue.Oidc);
                if (result.None)
                    throw new UnidentifiedCallerException("no bearer token: this cluster's API takes OpenID Connect tokens (pass --token or set $FLATLORA_TOKEN)");
                throw new UnidentifiedCallerException(TokenCaller.Describe(result.Failure));
        }
    }
}
