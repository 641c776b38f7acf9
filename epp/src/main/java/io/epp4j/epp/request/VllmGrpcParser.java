package io.epp4j.epp.request;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

import java.io.IOException;
import java.util.Map;

/**
 * {@code vllmgrpc-parser}: vLLM's gRPC front end ({@code vllm.grpc.engine.VllmEngine}). The body is one gRPC
 * message: a 5-byte prefix (compression flag, big-endian length) and the protobuf {@code GenerateRequest} or
 * {@code EmbedRequest}, read here straight off the wire (field numbers as in {@code proto/.../generate_request.proto}),
 * without copying the prompt: its text's UTF-8 bytes, or its packed token ids, are the prompt for prefix affinity.
 * The body names no model: as in llm-d, the {@code x-gateway-model-name-rewrite} header names the target. Other
 * methods of the service (health checks, model info) are routed without interpreting the body. Compressed messages
 * are refused (400). Thread-safe.
 */
final class VllmGrpcParser implements RequestParser {

    static final String TYPE = "vllmgrpc-parser";
    static final String GENERATE = "vllm.grpc.engine.VllmEngine/Generate";
    static final String EMBED = "vllm.grpc.engine.VllmEngine/Embed";

    /** gRPC's length prefix: one flag byte and a four-byte big-endian length. */
    static final int PREFIX_BYTES = 5;

    // field numbers of vLLM's messages (GenerateRequest, EmbedRequest and TokenizedInput)
    private static final int TOKENIZED = 2;
    private static final int TEXT = 3;
    private static final int STREAM = 5;
    private static final int INPUT_IDS = 2;

    @Override
    public ParsedRequest parse(Map<String, String> headers, byte[] body, int length) throws InvalidRequestException {
        String path = ApiPaths.path(headers);
        boolean generate = ApiPaths.matchesSuffix(path, GENERATE);
        if (!generate && !ApiPaths.matchesSuffix(path, EMBED)) {
            return ParsedRequest.uninterpreted("", length);
        }
        int size = messageSize(body, length);
        ByteSlice prompt = null;
        boolean tokenized = false;
        boolean stream = false;
        try {
            CodedInputStream in = CodedInputStream.newInstance(body, PREFIX_BYTES, size);
            int tag;
            while ((tag = in.readTag()) != 0) {
                int field = WireFormat.getTagFieldNumber(tag);
                int wire = WireFormat.getTagWireType(tag);
                if (field == TOKENIZED && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int n = in.readRawVarint32();
                    int start = PREFIX_BYTES + in.getTotalBytesRead();
                    in.skipRawBytes(n); // checks the length against the message first
                    prompt = tokenIds(body, start, n);
                    tokenized = true;
                } else if (generate && field == TEXT && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int n = in.readRawVarint32();
                    int start = PREFIX_BYTES + in.getTotalBytesRead();
                    in.skipRawBytes(n);
                    prompt = new ByteSlice(body, start, n);
                    tokenized = false;
                } else if (generate && field == STREAM && wire == WireFormat.WIRETYPE_VARINT) {
                    stream = in.readBool();
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new InvalidRequestException("invalid gRPC message: " + e.getMessage());
        }
        if (prompt == null || prompt.length() == 0) {
            throw new InvalidRequestException(generate
                    ? "invalid generate request: must have a non-empty text or tokenized input"
                    : "invalid embed request: must have a non-empty tokenized input");
        }
        return new ParsedRequest(generate ? ApiType.GENERATE : ApiType.EMBEDDINGS, "", -1, -1, stream, "", prompt,
                length, tokenized ? unpack(prompt) : null);
    }

    /** The ids of packed uint32 varints. */
    private static int[] unpack(ByteSlice packed) throws InvalidRequestException {
        int[] ids = new int[Math.max(1, packed.length() / 2)];
        int count = 0;
        try {
            CodedInputStream in = CodedInputStream.newInstance(packed.array(), packed.offset(), packed.length());
            while (!in.isAtEnd()) {
                if (count == ids.length) {
                    ids = java.util.Arrays.copyOf(ids, count * 2);
                }
                ids[count++] = in.readUInt32();
            }
        } catch (IOException e) {
            throw new InvalidRequestException("invalid gRPC message: " + e.getMessage());
        }
        return java.util.Arrays.copyOf(ids, count);
    }

    /** The size of the one message the body holds, after checking its prefix. */
    static int messageSize(byte[] body, int length) throws InvalidRequestException {
        if (length < PREFIX_BYTES) {
            throw new InvalidRequestException("invalid gRPC frame: expected at least " + PREFIX_BYTES
                    + " bytes for the message prefix, got " + length);
        }
        if (body[0] == 1) {
            throw new InvalidRequestException("compressed gRPC payload is not supported");
        }
        if (body[0] != 0) {
            throw new InvalidRequestException("invalid gRPC frame: unknown compression flag " + (body[0] & 0xFF));
        }
        long size = ((body[1] & 0xFFL) << 24) | ((body[2] & 0xFFL) << 16) | ((body[3] & 0xFFL) << 8)
                | (body[4] & 0xFFL);
        if (PREFIX_BYTES + size > length) {
            throw new InvalidRequestException("incomplete gRPC payload: the prefix announces " + size
                    + " bytes, but only " + (length - PREFIX_BYTES) + " follow");
        }
        if (PREFIX_BYTES + size < length) {
            throw new InvalidRequestException("invalid gRPC frame: " + (length - PREFIX_BYTES - size)
                    + " bytes after the request message");
        }
        return (int) size;
    }

    /**
     * The token ids of the {@code TokenizedInput} at {@code body[start, start + n)}: the packed ids as they lie in the
     * body, or (for a sender that did not pack them) the ids packed anew.
     */
    private static ByteSlice tokenIds(byte[] body, int start, int n) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(body, start, n);
        ByteSlice packed = null;
        java.io.ByteArrayOutputStream unpacked = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(tag) != INPUT_IDS) {
                in.skipField(tag);
            } else if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int len = in.readRawVarint32();
                int from = start + in.getTotalBytesRead();
                in.skipRawBytes(len);
                packed = new ByteSlice(body, from, len);
            } else if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                if (unpacked == null) {
                    unpacked = new java.io.ByteArrayOutputStream();
                }
                CodedOutputStream out = CodedOutputStream.newInstance(unpacked, 8);
                out.writeUInt32NoTag(in.readUInt32());
                out.flush();
            } else {
                in.skipField(tag);
            }
        }
        if (unpacked != null) {
            return ByteSlice.of(unpacked.toByteArray());
        }
        return packed;
    }
}
