namespace FlatLora.Trainer.Distributed;

/// <summary>Carries one ring message to the process of the rank it is addressed to.</summary>
public interface IRingTransport : IAsyncDisposable
{
    Task SendAsync(RingMessage message, byte[] secret, CancellationToken cancellationToken);
}

/// <summary>Same process: straight into the inbox (ranks on one silo never touch the network).</summary>
public sealed class InProcessRingTransport(GradientInbox inbox, TimeSpan waitForPeer) : IRingTransport
{
    public async Task SendAsync(RingMessage message, byte[] secret, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + waitForPeer;
        while (inbox.IsPending(message.Address))
        {
            if (DateTime.UtcNow > deadline)
                throw new CollectiveTimeoutException($"rank {message.Address.ToRank} of {message.Address.RunKey} did not start within {waitForPeer.TotalSeconds:F0} s");
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        inbox.Deliver(message, secret);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
