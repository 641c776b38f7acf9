package io.epp4j.epp.kvevents;

import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes the msgpack payload of a vLLM {@code KVEventBatch} in both wire generations: the older positional arrays
 * ({@code [ts, events, dp_rank]}, each event {@code [tag, field...]}) and the map encoding (each event a map with a
 * {@code "type"} key; the batch may be a map too). Fields are read by name or by length-guarded position, nil and
 * missing trailing fields take their defaults, unknown keys are skipped, unknown event types are counted and skipped.
 * Block hashes may be unsigned 64-bit integers (usually above {@code Long.MAX_VALUE}: kept as the same bits) or
 * byte digests (the last 8 bytes, big-endian, as llm-d reads them).
 *
 * <p>Stateless and thread-safe. Anything it cannot decode, including a batch over the configured limits, is a
 * {@link MalformedEventException}; nothing else escapes.
 */
public final class KvEventDecoder {

    /** Bounds on one message, so a broken or hostile publisher cannot exhaust memory. */
    public record Limits(int maxPayloadBytes, int maxEvents, int maxTokensPerEvent) {
        /** 16 MiB, 100,000 events, 4M tokens per event. */
        public static final Limits DEFAULT = new Limits(16 << 20, 100_000, 1 << 22);
    }

    private static final String[] STORED_FIELDS = {"block_hashes", "parent_block_hash", "token_ids", "block_size",
        "lora_id", "medium", "lora_name", "extra_keys", "group_idx", "kv_cache_spec_kind",
        "kv_cache_spec_sliding_window"};
    private static final String[] REMOVED_FIELDS = {"block_hashes", "medium", "group_idx"};
    private static final String[] NO_FIELDS = {};
    private static final long[] NO_HASHES = {};
    private static final int[] NO_TOKENS = {};

    private final Limits limits;

    public Limits limits() {
        return limits;
    }

    public KvEventDecoder() {
        this(Limits.DEFAULT);
    }

    public KvEventDecoder(Limits limits) {
        this.limits = limits;
    }

    public KvEventBatch decode(byte[] payload) throws MalformedEventException {
        if (payload.length > limits.maxPayloadBytes()) {
            throw new MalformedEventException("too_large", "payload of " + payload.length + " bytes exceeds "
                    + limits.maxPayloadBytes());
        }
        try (MessageUnpacker in = MessagePack.newDefaultUnpacker(payload)) {
            Reader r = new Reader(in, payload.length);
            KvEventBatch batch = r.batch();
            if (in.hasNext()) {
                throw new MalformedEventException("msgpack", "trailing bytes after the batch");
            }
            return batch;
        } catch (MalformedEventException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new MalformedEventException("msgpack", "cannot decode the batch: " + e);
        }
    }

    /** Fields of one event being read, whichever encoding it came in. */
    private static final class Fields {
        String type;
        long[] hashes = NO_HASHES;
        boolean hasParent;
        long parent;
        int[] tokens = NO_TOKENS;
        int blockSize;
        String medium;
        String loraName;
        int groupIdx = KvEvent.NONE;
        String specKind;
    }

    private final class Reader {
        final MessageUnpacker in;
        final int payloadBytes;

        Reader(MessageUnpacker in, int payloadBytes) {
            this.in = in;
            this.payloadBytes = payloadBytes;
        }

        KvEventBatch batch() throws IOException, MalformedEventException {
            double ts = 0;
            int rank = KvEvent.NONE;
            List<KvEvent> events = List.of();
            int[] unknown = new int[1];
            ValueType t = in.getNextFormat().getValueType();
            if (t == ValueType.ARRAY) {
                int n = header(in.unpackArrayHeader());
                if (n < 2) {
                    throw new MalformedEventException("schema", "batch array has " + n + " elements, needs 2");
                }
                ts = number();
                events = events(unknown);
                rank = n > 2 ? optInt() : KvEvent.NONE;
                skip(n - 3);
            } else if (t == ValueType.MAP) {
                int n = header(in.unpackMapHeader());
                boolean sawEvents = false;
                for (int i = 0; i < n; i++) {
                    String key = string();
                    switch (key == null ? "" : key) {
                        case "ts" -> ts = number();
                        case "events" -> {
                            events = events(unknown);
                            sawEvents = true;
                        }
                        case "data_parallel_rank" -> rank = optInt();
                        default -> in.skipValue();
                    }
                }
                if (!sawEvents) {
                    throw new MalformedEventException("schema", "batch map has no 'events'");
                }
            } else {
                throw new MalformedEventException("schema", "batch is a " + t + ", not an array or map");
            }
            return new KvEventBatch(ts, events, rank, unknown[0]);
        }

        List<KvEvent> events(int[] unknown) throws IOException, MalformedEventException {
            int n = header(in.unpackArrayHeader());
            if (n > limits.maxEvents()) {
                throw new MalformedEventException("too_large", n + " events exceed " + limits.maxEvents());
            }
            List<KvEvent> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                KvEvent e = event();
                if (e == null) {
                    unknown[0]++;
                } else {
                    out.add(e);
                }
            }
            return out;
        }

        /** One event, or null for an unknown type (already skipped). */
        KvEvent event() throws IOException, MalformedEventException {
            Fields f = new Fields();
            ValueType t = in.getNextFormat().getValueType();
            if (t == ValueType.ARRAY) {
                int n = header(in.unpackArrayHeader());
                if (n == 0) {
                    throw new MalformedEventException("schema", "empty event array");
                }
                f.type = string();
                String[] names = fieldsOf(f.type);
                for (int i = 1; i < n; i++) {
                    if (i - 1 < names.length) {
                        field(names[i - 1], f);
                    } else {
                        in.skipValue();
                    }
                }
            } else if (t == ValueType.MAP) {
                int n = header(in.unpackMapHeader());
                for (int i = 0; i < n; i++) {
                    String key = string();
                    if ("type".equals(key)) {
                        f.type = string();
                    } else {
                        field(key == null ? "" : key, f);
                    }
                }
            } else {
                throw new MalformedEventException("schema", "event is a " + t + ", not an array or map");
            }
            if (f.type == null) {
                throw new MalformedEventException("schema", "event without a type");
            }
            return switch (f.type) {
                case "BlockStored" -> {
                    if (f.hashes.length == 0) {
                        throw new MalformedEventException("schema", "BlockStored without block_hashes");
                    }
                    if (f.tokens.length > 0 && (f.blockSize <= 0
                            || (long) f.blockSize * f.hashes.length != f.tokens.length)) {
                        throw new MalformedEventException("schema", "BlockStored has " + f.tokens.length
                                + " tokens for " + f.hashes.length + " blocks of " + f.blockSize);
                    }
                    yield new KvEvent.BlockStored(f.hashes, f.hasParent, f.parent, f.tokens, f.blockSize,
                            f.loraName, f.medium, f.groupIdx, f.specKind);
                }
                case "BlockRemoved" -> new KvEvent.BlockRemoved(f.hashes, f.medium, f.groupIdx);
                case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
                default -> null;
            };
        }

        String[] fieldsOf(String type) {
            if ("BlockStored".equals(type)) {
                return STORED_FIELDS;
            }
            return "BlockRemoved".equals(type) ? REMOVED_FIELDS : NO_FIELDS;
        }

        void field(String name, Fields f) throws IOException, MalformedEventException {
            switch (name) {
                case "block_hashes" -> f.hashes = hashes();
                case "parent_block_hash" -> {
                    if (in.tryUnpackNil()) {
                        f.hasParent = false;
                    } else {
                        f.parent = hash();
                        f.hasParent = true;
                    }
                }
                case "token_ids" -> f.tokens = tokens();
                case "block_size" -> f.blockSize = optInt();
                case "medium" -> f.medium = string();
                case "lora_name" -> f.loraName = string();
                case "group_idx" -> f.groupIdx = optInt();
                case "kv_cache_spec_kind" -> f.specKind = string();
                default -> in.skipValue();
            }
        }

        long[] hashes() throws IOException, MalformedEventException {
            if (in.tryUnpackNil()) {
                return NO_HASHES;
            }
            int n = header(in.unpackArrayHeader());
            if (n > limits.maxTokensPerEvent()) {
                throw new MalformedEventException("too_large", n + " block hashes in one event");
            }
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = hash();
            }
            return out;
        }

        long hash() throws IOException, MalformedEventException {
            MessageFormat f = in.getNextFormat();
            switch (f.getValueType()) {
                case INTEGER:
                    return f == MessageFormat.UINT64 ? in.unpackBigInteger().longValue() : in.unpackLong();
                case BINARY: {
                    int len = in.unpackBinaryHeader();
                    if (len > 64) {
                        throw new MalformedEventException("schema", "block hash of " + len + " bytes");
                    }
                    byte[] b = in.readPayload(len);
                    long v = 0;
                    for (int i = Math.max(0, len - 8); i < len; i++) {
                        v = (v << 8) | (b[i] & 0xFF);
                    }
                    return v;
                }
                default:
                    throw new MalformedEventException("schema", "block hash is a " + f.getValueType());
            }
        }

        int[] tokens() throws IOException, MalformedEventException {
            if (in.tryUnpackNil()) {
                return NO_TOKENS;
            }
            int n = header(in.unpackArrayHeader());
            if (n > limits.maxTokensPerEvent()) {
                throw new MalformedEventException("too_large", n + " token ids in one event");
            }
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = in.unpackInt();
            }
            return out;
        }

        double number() throws IOException, MalformedEventException {
            ValueType t = in.getNextFormat().getValueType();
            if (t == ValueType.FLOAT) {
                return in.unpackDouble();
            }
            if (t == ValueType.INTEGER) {
                return in.unpackLong();
            }
            throw new MalformedEventException("schema", "timestamp is a " + t);
        }

        int optInt() throws IOException {
            return in.tryUnpackNil() ? KvEvent.NONE : in.unpackInt();
        }

        String string() throws IOException {
            return in.tryUnpackNil() ? null : in.unpackString();
        }

        void skip(int n) throws IOException {
            for (int i = 0; i < n; i++) {
                in.skipValue();
            }
        }

        /** A container size that cannot be larger than the bytes left (each element takes at least one byte). */
        int header(int n) throws MalformedEventException {
            if (n < 0 || n > payloadBytes) {
                throw new MalformedEventException("msgpack", "container of " + n + " elements in " + payloadBytes
                        + " bytes");
            }
            return n;
        }
    }
}
