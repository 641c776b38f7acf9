package io.epp4j.bench.sim;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * vLLM's msgpack {@code KVEventBatch}, written as vLLM's msgspec encoder writes it and read back (for tests and
 * tools). The batch is the positional array {@code [ts, events, data_parallel_rank]} in both generations; the events
 * are maps with a {@code "type"} key ({@link Encoding#MAP}, vLLM since PR #42892) or positional arrays with the
 * class name first ({@link Encoding#ARRAY}, before it). Block hashes are written as unsigned 64-bit integers, as
 * msgspec writes vLLM's {@code int} hashes ({@code 0xcf} and 8 bytes when the top bit is set).
 */
public final class KvEventCodec {

    /** The event layout. */
    public enum Encoding {
        /** Events are maps keyed by field name with the class name under {@code "type"} (current vLLM). */
        MAP,
        /** Events are positional arrays, class name first, trailing defaults omitted (vLLM before #42892). */
        ARRAY;

        /** {@code map} or {@code array}. */
        public static Encoding parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown KV-event encoding " + s + " (map, array)");
            }
        }
    }

    /** A decoded batch. */
    public record Batch(double ts, List<KvEvent> events, Integer dataParallelRank) {
    }

    private static final String FULL_ATTENTION = "full_attention";
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    private KvEventCodec() {
    }

    /** The payload frame of one batch (data parallel rank 0, as a single-rank vLLM fills it). */
    public static byte[] encode(double ts, List<KvEvent> events, Encoding encoding) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(3);
            p.packDouble(ts);
            p.packArrayHeader(events.size());
            for (KvEvent e : events) {
                if (encoding == Encoding.MAP) {
                    writeMap(p, e);
                } else {
                    writeArray(p, e);
                }
            }
            p.packInt(0);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeMap(MessagePacker p, KvEvent e) throws IOException {
        if (e instanceof KvEvent.BlockStored s) {
            // every field without a default is present (lora_id, medium, lora_name); kv_cache_spec_sliding_window
            // is nil by default and omitted
            p.packMapHeader(11);
            p.packString("type").packString("BlockStored");
            p.packString("block_hashes");
            writeHashes(p, s.blockHashes());
            p.packString("parent_block_hash");
            writeHashOrNil(p, s.parentBlockHash());
            p.packString("token_ids");
            writeTokens(p, s.tokenIds());
            p.packString("block_size").packInt(s.blockSize());
            p.packString("lora_id");
            writeIntOrNil(p, s.loraId());
            p.packString("medium");
            writeStringOrNil(p, s.medium());
            p.packString("lora_name");
            writeStringOrNil(p, s.loraName());
            p.packString("extra_keys");
            writeExtraKeys(p, s);
            p.packString("group_idx").packInt(0);
            p.packString("kv_cache_spec_kind").packString(FULL_ATTENTION);
        } else if (e instanceof KvEvent.BlockRemoved r) {
            p.packMapHeader(4);
            p.packString("type").packString("BlockRemoved");
            p.packString("block_hashes");
            writeHashes(p, r.blockHashes());
            p.packString("medium");
            writeStringOrNil(p, r.medium());
            p.packString("group_idx").packInt(0);
        } else {
            p.packMapHeader(1);
            p.packString("type").packString("AllBlocksCleared");
        }
    }

    private static void writeArray(MessagePacker p, KvEvent e) throws IOException {
        if (e instanceof KvEvent.BlockStored s) {
            p.packArrayHeader(11); // up to kv_cache_spec_kind; the trailing nil sliding window is omitted
            p.packString("BlockStored");
            writeHashes(p, s.blockHashes());
            writeHashOrNil(p, s.parentBlockHash());
            writeTokens(p, s.tokenIds());
            p.packInt(s.blockSize());
            writeIntOrNil(p, s.loraId());
            writeStringOrNil(p, s.medium());
            writeStringOrNil(p, s.loraName());
            writeExtraKeys(p, s);
            p.packInt(0);
            p.packString(FULL_ATTENTION);
        } else if (e instanceof KvEvent.BlockRemoved r) {
            p.packArrayHeader(4);
            p.packString("BlockRemoved");
            writeHashes(p, r.blockHashes());
            writeStringOrNil(p, r.medium());
            p.packInt(0);
        } else {
            p.packArrayHeader(1);
            p.packString("AllBlocksCleared");
        }
    }

    private static void writeHashes(MessagePacker p, long[] hashes) throws IOException {
        p.packArrayHeader(hashes.length);
        for (long h : hashes) {
            writeHash(p, h);
        }
    }

    /** As an unsigned 64-bit integer: msgpack-core would write a negative long as a signed int64. */
    private static void writeHash(MessagePacker p, long h) throws IOException {
        if (h >= 0) {
            p.packLong(h);
        } else {
            p.packBigInteger(BigInteger.valueOf(h).add(TWO_64));
        }
    }

    private static void writeHashOrNil(MessagePacker p, Long h) throws IOException {
        if (h == null) {
            p.packNil();
        } else {
            writeHash(p, h);
        }
    }

    private static void writeTokens(MessagePacker p, int[] tokens) throws IOException {
        p.packArrayHeader(tokens.length);
        for (int t : tokens) {
            p.packInt(t);
        }
    }

    /** One entry per block: nil for a base-model block, {@code [lora_name]} for an adapter's (vLLM's extra keys). */
    private static void writeExtraKeys(MessagePacker p, KvEvent.BlockStored s) throws IOException {
        p.packArrayHeader(s.blockHashes().length);
        for (int i = 0; i < s.blockHashes().length; i++) {
            if (s.loraName() == null) {
                p.packNil();
            } else {
                p.packArrayHeader(1).packString(s.loraName());
            }
        }
    }

    private static void writeIntOrNil(MessagePacker p, Integer v) throws IOException {
        if (v == null) {
            p.packNil();
        } else {
            p.packInt(v);
        }
    }

    private static void writeStringOrNil(MessagePacker p, String v) throws IOException {
        if (v == null) {
            p.packNil();
        } else {
            p.packString(v);
        }
    }

    /**
     * Reads a payload frame of either generation (and a batch written as a map). Fields are read by name or by
     * position; unknown keys and unknown trailing fields are skipped; an unknown event type fails.
     *
     * @throws IllegalArgumentException when the payload is not a KV-event batch
     */
    public static Batch decode(byte[] payload) {
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
            double ts;
            List<KvEvent> events = new ArrayList<>();
            Integer rank = null;
            if (u.getNextFormat().getValueType() == ValueType.MAP) {
                Map<String, Object> batch = readMap(u);
                ts = ((Number) batch.get("ts")).doubleValue();
                for (Object e : (List<?>) batch.get("events")) {
                    events.add(event(e));
                }
                rank = batch.get("data_parallel_rank") instanceof Number n ? n.intValue() : null;
            } else {
                int n = u.unpackArrayHeader();
                ts = ((Number) read(u)).doubleValue();
                for (Object e : (List<?>) read(u)) {
                    events.add(event(e));
                }
                if (n > 2 && read(u) instanceof Number r) {
                    rank = r.intValue();
                }
            }
            return new Batch(ts, events, rank);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a KV-event batch: " + e.getMessage(), e);
        }
    }

    private static final List<String> STORED_FIELDS = List.of("type", "block_hashes", "parent_block_hash",
            "token_ids", "block_size", "lora_id", "medium", "lora_name");
    private static final List<String> REMOVED_FIELDS = List.of("type", "block_hashes", "medium");

    private static KvEvent event(Object raw) {
        Map<String, Object> f = new HashMap<>();
        String type;
        if (raw instanceof Map<?, ?> m) {
            m.forEach((k, v) -> f.put((String) k, v));
            type = (String) f.get("type");
        } else {
            List<?> a = (List<?>) raw;
            type = (String) a.get(0);
            List<String> names = type.equals("BlockStored") ? STORED_FIELDS : REMOVED_FIELDS;
            for (int i = 1; i < Math.min(a.size(), names.size()); i++) {
                f.put(names.get(i), a.get(i));
            }
        }
        return switch (type) {
            case "BlockStored" -> new KvEvent.BlockStored(hashes(f.get("block_hashes")),
                    f.get("parent_block_hash") == null ? null : hash(f.get("parent_block_hash")),
                    ints(f.get("token_ids")), ((Number) f.get("block_size")).intValue(),
                    f.get("lora_id") instanceof Number n ? n.intValue() : null, (String) f.get("medium"),
                    (String) f.get("lora_name"));
            case "BlockRemoved" -> new KvEvent.BlockRemoved(hashes(f.get("block_hashes")), (String) f.get("medium"));
            case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
            default -> throw new IllegalArgumentException("unknown event type " + type);
        };
    }

    private static long[] hashes(Object raw) {
        List<?> l = (List<?>) raw;
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = hash(l.get(i));
        }
        return out;
    }

    /** An unsigned 64-bit integer as its two's-complement long; a digest (bin) by its last 8 bytes, as llm-d reads it. */
    private static long hash(Object raw) {
        if (raw instanceof byte[] digest) {
            long h = 0;
            for (int i = Math.max(0, digest.length - 8); i < digest.length; i++) {
                h = h << 8 | (digest[i] & 0xff);
            }
            return h;
        }
        return raw instanceof BigInteger b ? b.longValue() : ((Number) raw).longValue();
    }

    private static int[] ints(Object raw) {
        List<?> l = (List<?>) raw;
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) l.get(i)).intValue();
        }
        return out;
    }

    private static Map<String, Object> readMap(MessageUnpacker u) throws IOException {
        int n = u.unpackMapHeader();
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(u.unpackString(), read(u));
        }
        return m;
    }

    /** Any value: nil, boolean, Long or BigInteger (above Long.MAX_VALUE), Double, String, byte[], List, Map. */
    private static Object read(MessageUnpacker u) throws IOException {
        MessageFormat format = u.getNextFormat();
        return switch (format.getValueType()) {
            case NIL -> {
                u.unpackNil();
                yield null;
            }
            case BOOLEAN -> u.unpackBoolean();
            case INTEGER -> format == MessageFormat.UINT64 ? u.unpackBigInteger() : (Object) u.unpackLong();
            case FLOAT -> u.unpackDouble();
            case STRING -> u.unpackString();
            case BINARY -> u.readPayload(u.unpackBinaryHeader());
            case ARRAY -> {
                int n = u.unpackArrayHeader();
                List<Object> l = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    l.add(read(u));
                }
                yield l;
            }
            case MAP -> readMap(u);
            case EXTENSION -> {
                u.skipValue();
                yield null;
            }
        };
    }
}
