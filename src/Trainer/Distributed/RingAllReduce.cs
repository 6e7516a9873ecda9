namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Ring all-reduce (sum) of a float buffer over W ranks: W−1 reduce-scatter hops leave rank r owning the finished
/// chunk r+1, then W−1 all-gather hops hand every finished chunk round the ring. Each rank sends 2(W−1)/W of the
/// buffer per call, whatever W is. Every chunk is summed once, in a fixed order, then copied: all ranks end with
/// bit-identical values, so their LoRA weights never drift apart. The first hop also compares the neighbours'
/// consistency hashes (for Flat-LoRA, a hash of the step's ε).
/// </summary>
public sealed class RingAllReduce(RingMailbox mailbox, IRingTransport next, int worldSize, TimeSpan timeout)
{
    private int Rank => mailbox.Rank;
    private int Previous => (Rank - 1 + worldSize) % worldSize;

    /// <summary>Sums <paramref name="buffer"/> over all ranks in place.</summary>
    public async Task SumAsync(long step, float[] buffer, ulong fingerprint, CancellationToken cancellationToken)
    {
        mailbox.AdvanceTo(step);
        if (worldSize == 1)
            return;
        int Chunk(int index) => ((index % worldSize) + worldSize) % worldSize;
        for (int hop = 0; hop < worldSize - 1; hop++)
        {
            int send = Chunk(Rank - hop), receive = Chunk(Rank - hop - 1);
            RingMessage incoming = await ExchangeAsync(step, phase: 0, hop, buffer, send, receive, fingerprint, cancellationToken).ConfigureAwait(false);
            if (hop == 0 && incoming.Fingerprint != fingerprint)
                throw new FingerprintMismatchException(
                    $"step {step}: rank {Previous} reports consistency hash {incoming.Fingerprint:x16} but rank {Rank} {fingerprint:x16}; " +
                    "their seeds, steps, perturbations or LoRA weights disagree");
            (int start, int length) = Range(receive, buffer.Length);
            for (int i = 0; i < length; i++)
                buffer[start + i] += incoming.Values[i];
        }
        for (int hop = 0; hop < worldSize - 1; hop++)
        {
            int send = Chunk(Rank - hop + 1), receive = Chunk(Rank - hop);
            RingMessage incoming = await ExchangeAsync(step, phase: 1, hop, buffer, send, receive, fingerprint, cancellationToken).ConfigureAwait(false);
            (int start, int length) = Range(receive, buffer.Length);
            incoming.Values.AsSpan(0, length).CopyTo(buffer.AsSpan(start, length));
        }
    }

    // Send one chunk to the next rank while receiving one from the previous.
    private async Task<RingMessage> ExchangeAsync(long step, int phase, int hop, float[] buffer, int sendChunk, int receiveChunk,
        ulong fingerprint, CancellationToken cancellationToken)
    {
        (int start, int length) = Range(sendChunk, buffer.Length);
        var outgoing = new RingMessage(new RingAddress(mailbox.RunKey, mailbox.Attempt, Rank, (Rank + 1) % worldSize, step, phase, hop),
            fingerprint, buffer.AsSpan(start, length).ToArray());
        Task<RingMessage> receive = mailbox.ReceiveAsync(step, phase, hop, Previous, timeout, cancellationToken);
        Task send = next.SendAsync(outgoing, mailbox.Secret, cancellationToken);
        await Task.WhenAll(send, receive).ConfigureAwait(false);
        return await receive.ConfigureAwait(false);
    }

    private (int Start, int Length) Range(int chunk, int length)
    {
        long start = (long)chunk * length / worldSize, end = (long)(chunk + 1) * length / worldSize;
        return ((int)start, (int)(end - start));
    }
}
