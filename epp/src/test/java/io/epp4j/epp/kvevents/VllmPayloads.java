package io.epp4j.epp.kvevents;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes KV-event batches the way vLLM's msgspec encoder does (unsigned hashes in the shortest form, float64
 * timestamps), in the array or the map generation, for tests that need real payloads.
 */
final class VllmPayloads {

    enum Encoding { ARRAY, MAP }

    /** One event to write; {@code parent} null = nil. */
    record Stored(long[] hashes, Long parent, int[] tokens, int blockSize, String loraName, String medium) {
    }

    record Removed(long[] hashes) {
    }

    record Cleared() {
    }

    private VllmPayloads() {
    }

    static byte[] batch(Encoding encoding, double ts, Object... events) {
        MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
        try {
            p.packArrayHeader(3);
            p.packDouble(ts);
            p.packArrayHeader(events.length);
            for (Object e : events) {
                event(p, encoding, e);
            }
            p.packInt(0);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void event(MessageBufferPacker p, Encoding encoding, Object e) throws IOException {
        List<Object[]> fields = new ArrayList<>();
        String type;
        if (e instanceof Stored s) {
            type = "BlockStored";
            fields.add(new Object[] {"block_hashes", s.hashes()});
            fields.add(new Object[] {"parent_block_hash", s.parent()});
            fields.add(new Object[] {"token_ids", s.tokens()});
            fields.add(new Object[] {"block_size", s.blockSize()});
            fields.add(new Object[] {"lora_id", null});
            fields.add(new Object[] {"medium", s.medium()});
            fields.add(new Object[] {"lora_name", s.loraName()});
            fields.add(new Object[] {"extra_keys", new Object[s.hashes().length]});
            fields.add(new Object[] {"group_idx", 0});
            fields.add(new Object[] {"kv_cache_spec_kind", "full_attention"});
        } else if (e instanceof Removed r) {
            type = "BlockRemoved";
            fields.add(new Object[] {"block_hashes", r.hashes()});
            fields.add(new Object[] {"medium", "GPU"});
        } else {
            type = e instanceof Cleared ? "AllBlocksCleared" : e.toString();
        }
        if (encoding == Encoding.ARRAY) {
            p.packArrayHeader(1 + fields.size());
            p.packString(type);
            for (Object[] f : fields) {
                value(p, f[1]);
            }
        } else {
            p.packMapHeader(1 + fields.size());
            p.packString("type");
            p.packString(type);
            for (Object[] f : fields) {
                p.packString((String) f[0]);
                value(p, f[1]);
            }
        }
    }

    private static void value(MessageBufferPacker p, Object v) throws IOException {
        if (v == null) {
            p.packNil();
        } else if (v instanceof long[] hashes) {
            p.packArrayHeader(hashes.length);
            for (long h : hashes) {
                p.packBigInteger(new BigInteger(Long.toUnsignedString(h)));
            }
        } else if (v instanceof Long h) {
            p.packBigInteger(new BigInteger(Long.toUnsignedString(h)));
        } else if (v instanceof int[] tokens) {
            p.packArrayHeader(tokens.length);
            for (int t : tokens) {
                p.packInt(t);
            }
        } else if (v instanceof Object[] arr) {
            p.packArrayHeader(arr.length);
            for (Object o : arr) {
                value(p, o);
            }
        } else if (v instanceof Integer i) {
            p.packInt(i);
        } else {
            p.packString(v.toString());
        }
    }
}
