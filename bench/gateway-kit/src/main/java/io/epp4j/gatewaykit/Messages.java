package io.epp4j.gatewaykit;

import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpTrailers;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProtocolConfiguration;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The messages a gateway sends an EPP, built as each {@link Dialect} builds them, and readers for the EPP's
 * answers. Header maps are lower-case names in the order given, pseudo-headers ({@code :path}, ...) included.
 */
public final class Messages {

    public static final String DESTINATION = "x-gateway-destination-endpoint";
    public static final String SERVED_KEY = "x-gateway-destination-endpoint-served";
    public static final String LB_NAMESPACE = "envoy.lb";
    public static final String SUBSET_NAMESPACE = "envoy.lb.subset_hint";
    public static final String SUBSET_KEY = "x-gateway-destination-endpoint-subset";
    /** The largest body chunk an EPP may answer with (GAIE's figure, under Envoy's recommended 64 KiB). */
    public static final int MAX_ANSWER_CHUNK_BYTES = 62_000;

    private Messages() {
    }

    /** FULL_DUPLEX_STREAMED bodies both ways, what every GAIE gateway announces on the first message. */
    public static ProtocolConfiguration fullDuplex() {
        return mode(BodySendMode.FULL_DUPLEX_STREAMED, BodySendMode.FULL_DUPLEX_STREAMED);
    }

    public static ProtocolConfiguration mode(BodySendMode request, BodySendMode response) {
        return ProtocolConfiguration.newBuilder().setRequestBodyMode(request).setResponseBodyMode(response).build();
    }

    /** The headers as {@code dialect} encodes them. */
    public static HeaderMap headerMap(Dialect dialect, Map<String, String> headers) {
        HeaderMap.Builder map = HeaderMap.newBuilder();
        List<HeaderValue> pseudo = new ArrayList<>();
        headers.forEach((k, v) -> {
            if (dialect.pseudoHeadersInValue() && k.startsWith(":")) {
                pseudo.add(HeaderValue.newBuilder().setKey(k).setValue(v).build());
            } else {
                map.addHeaders(HeaderValue.newBuilder().setKey(k).setRawValue(ByteString.copyFromUtf8(v)));
            }
        });
        return map.addAllHeaders(pseudo).build();
    }

    /** A POST's headers: the pseudo-headers, JSON content type and length, then {@code extra} name/value pairs. */
    public static Map<String, String> post(String path, int contentLength, String... extra) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(":method", "POST");
        h.put(":scheme", "http");
        h.put(":authority", "gateway.example");
        h.put(":path", path);
        h.put("content-type", "application/json");
        h.put("content-length", Integer.toString(contentLength));
        for (int i = 0; i + 1 < extra.length; i += 2) {
            h.put(extra[i], extra[i + 1]);
        }
        return h;
    }

    /**
     * A gRPC call's headers as a gateway passes them on (HTTP/2 POST to {@code /package.Service/Method},
     * {@code application/grpc}, {@code te: trailers}), then {@code extra} name/value pairs.
     */
    public static Map<String, String> grpcPost(String path, int contentLength, String... extra) {
        Map<String, String> h = post(path, contentLength, extra);
        h.put("content-type", "application/grpc");
        h.put("te", "trailers");
        return h;
    }

    /** {@code message} framed as one uncompressed gRPC message: a zero flag byte, its big-endian length, itself. */
    public static byte[] grpcFrame(byte[] message) {
        byte[] out = new byte[5 + message.length];
        out[1] = (byte) (message.length >>> 24);
        out[2] = (byte) (message.length >>> 16);
        out[3] = (byte) (message.length >>> 8);
        out[4] = (byte) message.length;
        System.arraycopy(message, 0, out, 5, message.length);
        return out;
    }

    /** The first message of a stream; {@code config} (null: none) goes only on this one. */
    public static ProcessingRequest requestHeaders(Dialect dialect, Map<String, String> headers, boolean eos,
                                                   ProtocolConfiguration config) {
        ProcessingRequest.Builder b = ProcessingRequest.newBuilder()
                .setRequestHeaders(headers(dialect, headers, eos));
        if (config != null) {
            b.setProtocolConfig(config);
        }
        return b.build();
    }

    public static ProcessingRequest requestBody(ByteString chunk, boolean eos, Metadata metadata) {
        return withMetadata(ProcessingRequest.newBuilder().setRequestBody(body(chunk, eos)), metadata);
    }

    public static ProcessingRequest requestBody(byte[] chunk, boolean eos, Metadata metadata) {
        return requestBody(ByteString.copyFrom(chunk), eos, metadata);
    }

    /** The body split into chunks of {@code chunkSize}, the last with end_of_stream (one empty one for none). */
    public static List<ProcessingRequest> requestBodyChunks(byte[] body, int chunkSize, Metadata metadata) {
        List<ProcessingRequest> out = new ArrayList<>();
        if (body.length == 0) {
            out.add(requestBody(new byte[0], true, metadata));
            return out;
        }
        for (int off = 0; off < body.length; off += chunkSize) {
            int n = Math.min(chunkSize, body.length - off);
            out.add(requestBody(ByteString.copyFrom(body, off, n), off + n == body.length, metadata));
        }
        return out;
    }

    /**
     * A whole request side as a gateway streams it: the headers with the FULL_DUPLEX protocol config, then the
     * body in {@code chunkSize} frames without waiting for an answer (a bodiless request: the headers alone, with
     * end_of_stream).
     */
    public static List<ProcessingRequest> request(Dialect dialect, Map<String, String> headers, byte[] body,
                                                  int chunkSize) {
        List<ProcessingRequest> out = new ArrayList<>();
        out.add(requestHeaders(dialect, headers, body.length == 0, fullDuplex()));
        if (body.length > 0) {
            out.addAll(requestBodyChunks(body, chunkSize, null));
        }
        return out;
    }

    public static ProcessingRequest requestTrailers() {
        return ProcessingRequest.newBuilder().setRequestTrailers(HttpTrailers.getDefaultInstance()).build();
    }

    public static ProcessingRequest responseHeaders(Dialect dialect, Map<String, String> headers, boolean eos,
                                                    Metadata metadata) {
        return withMetadata(ProcessingRequest.newBuilder().setResponseHeaders(headers(dialect, headers, eos)),
                metadata);
    }

    public static ProcessingRequest responseBody(ByteString chunk, boolean eos, Metadata metadata) {
        return withMetadata(ProcessingRequest.newBuilder().setResponseBody(body(chunk, eos)), metadata);
    }

    public static ProcessingRequest responseBody(byte[] chunk, boolean eos, Metadata metadata) {
        return responseBody(ByteString.copyFrom(chunk), eos, metadata);
    }

    public static ProcessingRequest responseTrailers() {
        return ProcessingRequest.newBuilder().setResponseTrailers(HttpTrailers.getDefaultInstance()).build();
    }

    private static HttpHeaders headers(Dialect dialect, Map<String, String> headers, boolean eos) {
        return HttpHeaders.newBuilder().setHeaders(headerMap(dialect, headers)).setEndOfStream(eos).build();
    }

    private static HttpBody body(ByteString chunk, boolean eos) {
        return HttpBody.newBuilder().setBody(chunk).setEndOfStream(eos).build();
    }

    /** {@code b} built with {@code metadata} (null: none) as its metadata context. */
    private static ProcessingRequest withMetadata(ProcessingRequest.Builder b, Metadata metadata) {
        if (metadata != null) {
            b.setMetadataContext(metadata);
        }
        return b.build();
    }

    /** GAIE's subset hint: the EPP must pick among these addresses. */
    public static Metadata subsetHint(String... addresses) {
        ListValue.Builder list = ListValue.newBuilder();
        for (String a : addresses) {
            list.addValues(Value.newBuilder().setStringValue(a));
        }
        return Metadata.newBuilder().putFilterMetadata(SUBSET_NAMESPACE, Struct.newBuilder()
                .putFields(SUBSET_KEY, Value.newBuilder().setListValue(list).build()).build()).build();
    }

    /** {@code envoy.lb/x-gateway-destination-endpoint-served}, as agentgateway sends it on the response side. */
    public static Metadata served(String address) {
        return Dialect.AGENTGATEWAY.responseMetadata(address, null);
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** An OpenAI chat completion naming {@code model}, its one message padded to at least {@code paddingBytes}. */
    public static byte[] chatBody(String model, boolean stream, int paddingBytes) {
        StringBuilder content = new StringBuilder("Hello");
        while (content.length() < paddingBytes) {
            content.append(" lorem ipsum dolor sit amet");
        }
        return utf8("{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":16}");
    }

    /** {@code raw_value} when set, else {@code value} (agentgateway accepts either in set_headers). */
    public static String headerValue(HeaderValue h) {
        return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
    }

    /** The value of a set_headers entry, read as agentgateway reads it ({@code raw_value} or {@code value}), or null. */
    public static String setHeaderValue(HeaderMutation mutation, String name) {
        for (HeaderValueOption option : mutation.getSetHeadersList()) {
            if (option.getHeader().getKey().equalsIgnoreCase(name)) {
                return headerValue(option.getHeader());
            }
        }
        return null;
    }

    /** The value of a set_headers entry, or null; asserts it is in raw_value only (what Envoy requires). */
    public static String setHeader(HeaderMutation mutation, String name) {
        for (HeaderValueOption option : mutation.getSetHeadersList()) {
            if (option.getHeader().getKey().equalsIgnoreCase(name)) {
                if (!option.getHeader().getValue().isEmpty()) {
                    throw new AssertionError("header " + name + " set in value, not raw_value only");
                }
                return option.getHeader().getRawValue().toStringUtf8();
            }
        }
        return null;
    }

    /** {@code dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"]}, or null. */
    public static String destinationMetadata(ProcessingResponse r) {
        Value lb = r.getDynamicMetadata().getFieldsMap().get(LB_NAMESPACE);
        if (lb == null || !lb.hasStructValue()) {
            return null;
        }
        Value dest = lb.getStructValue().getFieldsMap().get(DESTINATION);
        return dest == null ? null : dest.getStringValue();
    }

    /** The concatenated streamed_response bytes of body answers; asserts exactly one end_of_stream, last. */
    public static byte[] streamedBody(List<ProcessingResponse> answers, boolean requestSide) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int eosCount = 0;
        for (int i = 0; i < answers.size(); i++) {
            ProcessingResponse r = answers.get(i);
            if (requestSide ? !r.hasRequestBody() : !r.hasResponseBody()) {
                continue;
            }
            var common = (requestSide ? r.getRequestBody() : r.getResponseBody()).getResponse();
            if (!common.getBodyMutation().hasStreamedResponse()) {
                throw new AssertionError("a FULL_DUPLEX body answer without streamed_response");
            }
            var streamed = common.getBodyMutation().getStreamedResponse();
            if (streamed.getBody().size() > MAX_ANSWER_CHUNK_BYTES) {
                throw new AssertionError("chunk of " + streamed.getBody().size() + " bytes > "
                        + MAX_ANSWER_CHUNK_BYTES);
            }
            out.writeBytes(streamed.getBody().toByteArray());
            if (streamed.getEndOfStream()) {
                eosCount++;
                if (i != answers.size() - 1) {
                    throw new AssertionError("end_of_stream before the last chunk");
                }
            }
        }
        if (eosCount != 1) {
            throw new AssertionError("want exactly one end_of_stream, got " + eosCount);
        }
        return out.toByteArray();
    }
}
