namespace FlatLora.Client.Cluster;

/// <summary>No cluster could be reached (exit 3): the message says where the CLI looked and why it got no answer.</summary>
public sealed class ClusterUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
