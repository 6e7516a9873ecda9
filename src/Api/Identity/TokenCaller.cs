using System.Security.Claims;
using FlatLora.Api.Authorization;
using Microsoft.IdentityModel.Tokens;

namespace FlatLora.Api.Identity;

/// <summary>The caller a validated bearer token names, and what a refused token was refused for, in words.</summary>
public static class TokenCaller
{
    public static Caller From(ClaimsPrincipal principal, OidcSettings settings)
    {
        string user = principal.FindFirst(settings.UserClaim)?.Value is { Length: > 0 } u ? u
            : throw new UnidentifiedCallerException($"the token has no '{settings.UserClaim}' claim naming its user");
        string project = principal.FindFirst(settings.ProjectClaim)?.Value is { Length: > 0 } p ? p
            : throw new UnidentifiedCallerException($"the token has no '{settings.ProjectClaim}' claim naming its project");
        bool admin = principal.FindAll(settings.RoleClaim).Any(c => c.Value.Split(' ').Contains("admin", StringComparer.Ordinal));
        return new Caller(user, project, admin, "token");
    }

    /// <summary>Why JwtBearer refused a token, without the library's codes or hidden-PII placeholders.</summary>
    public static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException expired => $"the token expired at {expired.Expires:u}; get a new one from the issuer",
        SecurityTokenNotYetValidException early => $"the token is not valid before {early.NotBefore:u}",
        SecurityTokenInvalidAudienceException => "the token was issued for another audience than this cluster's API",
        SecurityTokenInvalidIssuerException => "the token was issued by another issuer than this cluster trusts",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the token's signature does not verify against the issuer's keys",
        SecurityTokenMalformedException or ArgumentException => "the bearer value is not a JWT",
        null => "the token was refused",
        _ => $"the token was refused ({failure.GetType().Name.Replace("Exception", "", StringComparison.Ordinal)})",
    };
}
