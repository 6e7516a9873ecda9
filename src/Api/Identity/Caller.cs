using FlatLora.Abstractions.Experiments;

namespace FlatLora.Api.Identity;

/// <summary>
/// Who is calling, as the server established it (a verified client certificate, a validated token, or "local" where
/// authentication is off), never from anything the client says about itself.
/// </summary>
/// <param name="Admin">A cluster admin by its credential (a certificate issued with --role admin, or the token's role).</param>
/// <param name="AuthenticatedBy">certificate, token or none.</param>
public sealed record Caller(string User, string Project, bool Admin, string AuthenticatedBy)
{
    public static readonly Caller Local = new(RunOwner.Local.User, RunOwner.Local.Project, Admin: true, "none");

    /// <summary>What the caller's runs are recorded as.</summary>
    public RunOwner AsOwner => new(User, Project);

    public override string ToString() => $"{User}@{Project}";
}
