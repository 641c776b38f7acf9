package io.epp4j.epp.kvevents;

import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Sends KV-event messages on a real PUB socket as vLLM does: topic, 8-byte big-endian sequence, msgpack batch. */
public final class KvEventFrames {

    private KvEventFrames() {
    }

    public static void send(ZMQ.Socket pub, String topic, long seq, byte[] payload) {
        pub.sendMore(topic.getBytes(StandardCharsets.UTF_8));
        pub.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
        pub.send(payload);
    }

    /** A map-encoded batch with one BlockStored on the GPU. */
    public static byte[] stored(long[] hashes, Long parent, int[] tokens, int blockSize) {
        return VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1.0,
                new VllmPayloads.Stored(hashes, parent, tokens, blockSize, null, "GPU"));
    }

    public static byte[] cleared() {
        return VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1.0, new VllmPayloads.Cleared());
    }
}
