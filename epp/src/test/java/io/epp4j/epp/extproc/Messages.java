package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
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
 * Builds the messages each gateway sends (gateways.md §1.3, §2.4, §2.5) and reads the EPP's answers.
 */
public final class Messages {

    /** How a gateway encodes headers and metadata. */
    public enum Profile {
        /** Pseudo-headers in value (after the others), the rest in raw_value; served metadata on the response side. */
        AGENTGATEWAY,
        /** Everything in raw_value; envoy.lb forwarded. */
        ISTIO,
        /** Everything in raw_value; no metadata either way. */
        ENVOY_AI_GATEWAY
    }

    private Messages() {
    }

    public static ProtocolConfiguration fullDuplex() {
        return mode(BodySendMode.FULL_DUPLEX_STREAMED, BodySendMode.FULL_DUPLEX_STREAMED);
    }

    public static ProtocolConfiguration mode(BodySendMode request, BodySendMode response) {
        return ProtocolConfiguration.newBuilder().setRequestBodyMode(request).setResponseBodyMode(response).build();
    }

    public static HeaderMap headerMap(Profile profile, Map<String, String> headers) {
        HeaderMap.Builder map = HeaderMap.newBuilder();
        List<HeaderValue> pseudo = new ArrayList<>();
        headers.forEach((k, v) -> {
            boolean isPseudo = k.startsWith(":");
            if (profile == Profile.AGENTGATEWAY && isPseudo) {
                pseudo.add(HeaderValue.newBuilder().setKey(k).setValue(v).build());
            } else {
                map.addHeaders(HeaderValue.newBuilder().setKey(k).setRawValue(ByteString.copyFromUtf8(v)));
            }
        });
        map.addAllHeaders(pseudo);
        return map.build();
    }

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

    public static ProcessingRequest requestHeaders(Profile profile, Map<String, String> headers, boolean eos,
                                                   ProtocolConfiguration config) {
        ProcessingRequest.Builder b = ProcessingRequest.newBuilder().setRequestHeaders(
                HttpHeaders.newBuilder().setHeaders(headerMap(profile, headers)).setEndOfStream(eos));
        if (config != null) {
            b.setProtocolConfig(config);
        }
        return b.build();
    }

    public static ProcessingRequest requestBody(byte[] chunk, boolean eos, Metadata metadata) {
        ProcessingRequest.Builder b = ProcessingRequest.newBuilder().setRequestBody(
                HttpBody.newBuilder().setBody(ByteString.copyFrom(chunk)).setEndOfStream(eos));
        if (metadata != null) {
            b.setMetadataContext(metadata);
        }
        return b.build();
    }

    /** The body split into chunks of {@code chunkSize}, the last with end_of_stream. */
    public static List<ProcessingRequest> requestBodyChunks(byte[] body, int chunkSize, Metadata metadata) {
        List<ProcessingRequest> out = new ArrayList<>();
        if (body.length == 0) {
            out.add(requestBody(new byte[0], true, metadata));
            return out;
        }
        for (int off = 0; off < body.length; off += chunkSize) {
            int n = Math.min(chunkSize, body.length - off);
            byte[] part = java.util.Arrays.copyOfRange(body, off, off + n);
            out.add(requestBody(part, off + n == body.length, metadata));
        }
        return out;
    }

    public static ProcessingRequest requestTrailers() {
        return ProcessingRequest.newBuilder().setRequestTrailers(HttpTrailers.getDefaultInstance()).build();
    }

    public static ProcessingRequest responseHeaders(Profile profile, Map<String, String> headers, boolean eos,
                                                    Metadata metadata) {
        ProcessingRequest.Builder b = ProcessingRequest.newBuilder().setResponseHeaders(
                HttpHeaders.newBuilder().setHeaders(headerMap(profile, headers)).setEndOfStream(eos));
        if (metadata != null) {
            b.setMetadataContext(metadata);
        }
        return b.build();
    }

    public static ProcessingRequest responseBody(byte[] chunk, boolean eos, Metadata metadata) {
        ProcessingRequest.Builder b = ProcessingRequest.newBuilder().setResponseBody(
                HttpBody.newBuilder().setBody(ByteString.copyFrom(chunk)).setEndOfStream(eos));
        if (metadata != null) {
            b.setMetadataContext(metadata);
        }
        return b.build();
    }

    public static ProcessingRequest responseTrailers() {
        return ProcessingRequest.newBuilder().setResponseTrailers(HttpTrailers.getDefaultInstance()).build();
    }

    public static Metadata subsetHint(String... addresses) {
        ListValue.Builder list = ListValue.newBuilder();
        for (String a : addresses) {
            list.addValues(Value.newBuilder().setStringValue(a));
        }
        return Metadata.newBuilder().putFilterMetadata("envoy.lb.subset_hint", Struct.newBuilder()
                .putFields("x-gateway-destination-endpoint-subset", Value.newBuilder().setListValue(list).build())
                .build()).build();
    }

    public static Metadata served(String address) {
        return Metadata.newBuilder().putFilterMetadata("envoy.lb", Struct.newBuilder()
                .putFields("x-gateway-destination-endpoint-served", Value.newBuilder().setStringValue(address)
                        .build()).build()).build();
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] chatBody(String model, boolean stream, int paddingBytes) {
        StringBuilder content = new StringBuilder("Hello");
        while (content.length() < paddingBytes) {
            content.append(" lorem ipsum dolor sit amet");
        }
        return utf8("{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":16}");
    }

    /** The value of a set_headers entry in a mutation, or null; asserts it is in raw_value only. */
    public static String setHeader(io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation mutation, String name) {
        for (var option : mutation.getSetHeadersList()) {
            if (option.getHeader().getKey().equalsIgnoreCase(name)) {
                if (!option.getHeader().getValue().isEmpty()) {
                    throw new AssertionError("header " + name + " set in value, not raw_value only");
                }
                return option.getHeader().getRawValue().toStringUtf8();
            }
        }
        return null;
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
            if (streamed.getBody().size() > 62_000) {
                throw new AssertionError("chunk of " + streamed.getBody().size() + " bytes > 62000");
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

    public static String destinationMetadata(ProcessingResponse r) {
        Struct lb = r.getDynamicMetadata().getFieldsOrDefault("envoy.lb", Value.getDefaultInstance())
                .getStructValue();
        return lb.getFieldsOrDefault("x-gateway-destination-endpoint", Value.getDefaultInstance()).getStringValue();
    }
}
