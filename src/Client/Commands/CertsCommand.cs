using System.CommandLine;
using FlatLora.Abstractions.Security;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora certs init|client`: the cluster's CA and the certificates of its silos and clients (PEM).</summary>
internal sealed class CertsCommand : Command
{
    public CertsCommand() : base("certs", "Create the cluster CA and silo/client certificates for mutual TLS")
    {
        Subcommands.Add(new InitCommand());
        Subcommands.Add(new ClientCommand());
    }

    private sealed class InitCommand : FlatloraCommand
    {
        private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "Folder for ca.*, silo.* and client.*", Required = true }.OutputFolder();
        private static readonly Option<string[]> DnsOption = new("--dns") { Description = "DNS names of the silo certificate (repeatable; default localhost, flatlora-silo)" };
        private static readonly Option<int> DaysOption = new("--days") { Description = "Validity in days", DefaultValueFactory = _ => 365 };

        public InitCommand() : base("init", "A new cluster CA, a silo certificate and a client certificate")
        {
            foreach (Option option in new Option[] { OutOption, DnsOption, DaysOption })
                Options.Add(option);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
        {
            int days = parseResult.GetValue(DaysOption);
            if (days < 1)
                throw new ArgumentException($"--days: must be at least 1 (got {days})");
            IReadOnlyList<string> written = ClusterCertificates.Init(parseResult.GetValue(OutOption)!, parseResult.GetValue(DnsOption) ?? [], days);
            foreach (string file in written)
                await parseResult.InvocationConfiguration.Output.WriteLineAsync($"{file} (+ {Path.ChangeExtension(file, ".key")})").ConfigureAwait(false);
            await parseResult.InvocationConfiguration.Error.WriteLineAsync(
                "Keep ca.key offline; give silos silo.* and ca.crt (FlatLora:Silo:Tls). client.* is the cluster's admin (--tls-dir); " +
                "issue each user their own with `flatlora certs client --name NAME --project PROJECT`.").ConfigureAwait(false);
            return ExitCodes.Success;
        }
    }

    private sealed class ClientCommand : FlatloraCommand
    {
        private static readonly Option<string> CaOption = new("--ca") { Description = "Folder with ca.crt and ca.key", Required = true };
        private static readonly Option<string> NameOption = new("--name") { Description = "The user (the certificate's CN)", Required = true };
        private static readonly Option<string> ProjectOption = new("--project") { Description = "The user's project (the certificate's O)", DefaultValueFactory = _ => "default" };
        private static readonly Option<string> RoleOption = new("--role")
        { Description = "user (default), admin (every right on the cluster), or operator (an operator tool that may reach the Orleans gateway)", DefaultValueFactory = _ => "user" };
        private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "Folder for NAME.crt, NAME.key and ca.crt", Required = true }.OutputFolder();
        private static readonly Option<int> DaysOption = new("--days") { Description = "Validity in days", DefaultValueFactory = _ => 365 };

        public ClientCommand() : base("client", "Issue another client certificate from the cluster CA")
        {
            RoleOption.AcceptOnlyFromAmong(ClusterCertificates.ClientRoles);
            foreach (Option option in new Option[] { CaOption, NameOption, ProjectOption, RoleOption, OutOption, DaysOption })
                Options.Add(option);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
        {
            int days = parseResult.GetValue(DaysOption);
            if (days < 1)
                throw new ArgumentException($"--days: must be at least 1 (got {days})");
            foreach (string file in ClusterCertificates.IssueClient(parseResult.GetValue(CaOption)!, parseResult.GetValue(NameOption)!,
                         parseResult.GetValue(ProjectOption)!, parseResult.GetValue(RoleOption)!, parseResult.GetValue(OutOption)!, days))
                await parseResult.InvocationConfiguration.Output.WriteLineAsync(file).ConfigureAwait(false);
            return ExitCodes.Success;
        }
    }
}
