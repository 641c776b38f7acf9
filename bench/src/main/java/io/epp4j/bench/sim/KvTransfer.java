package io.epp4j.bench.sim;

/**
 * How long a decode pod takes to pull a prompt's KV cache from the prefill pod that computed it (vLLM's
 * NixlConnector, an RDMA read): {@code setup + tokens × kvBytesPerToken / bandwidth}, only for the tokens the
 * decode pod does not already hold in its own prefix cache. {@code kvBytesPerToken} is
 * {@code 2 · layers · kvHeads · headDim · bytesPerElement} (FP16: Llama-3-8B 128 KiB, Llama-3-70B 320 KiB).
 * Effective bandwidth: NVLink ~600 GB/s, InfiniBand NDR 400G ~40 GB/s, RoCE 200G ~20 GB/s, 100 GbE ~10 GB/s,
 * 25 GbE ~2.5 GB/s; setup 0.5-2 ms over RDMA, 2-10 ms over TCP.
 *
 * @param kvBytesPerToken KV-cache bytes of one prompt token
 * @param gigabytesPerSecond effective link bandwidth (10^9 bytes a second)
 * @param setupMs fixed cost of one transfer
 * @param handshakeMs extra cost the first time a (prefill, decode) pair transfers (NIXL's ~5 s side-channel
 *     handshake; 0 models pairs already connected, the steady state)
 * @param prefillTimeoutMs the decode pod's sidecar gives up on a prefill pod that has not answered by then and
 *     serves the request decode-only
 */
public record KvTransfer(long kvBytesPerToken, double gigabytesPerSecond, double setupMs, double handshakeMs,
                         double prefillTimeoutMs) {

    /** Llama-3-8B in FP16 over InfiniBand NDR: 128 KiB a token, 40 GB/s, 1 ms setup, warm pairs, 30 s timeout. */
    public static final KvTransfer DEFAULT = new KvTransfer(131_072, 40, 1, 0, 30_000);

    public KvTransfer {
        if (kvBytesPerToken <= 0 || !(gigabytesPerSecond > 0) || setupMs < 0 || handshakeMs < 0
                || !(prefillTimeoutMs > 0)) {
            throw new IllegalArgumentException("KV transfer: bytes per token and bandwidth must be > 0, setup and"
                    + " handshake >= 0, prefill timeout > 0");
        }
    }

    /** Nanoseconds to pull {@code tokens} tokens' KV (the handshake not included). */
    public long nanos(int tokens) {
        return Math.round(setupMs * 1e6 + Math.max(0, tokens) * (double) kvBytesPerToken / gigabytesPerSecond);
    }
}
