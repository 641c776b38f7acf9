package io.epp4j.bench.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProtocolConfiguration;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Builds the gateway side of an ext_proc exchange the way agentgateway or Envoy do, and reads the answers. */
public final class ExtProcMessages {

    public static final String DESTINATION_HEADER = "x-gateway-destination-endpoint";
    public static final String SERVED_KEY = "x-gateway-destination-endpoint-served";
    public static final String LB_NAMESPACE = "envoy.lb";

    private ExtProcMessages() {
    }

    /** Full-duplex streamed bodies both ways, as both gateways advertise on the first message. */
    public static final ProtocolConfiguration FULL_DUPLEX = ProtocolConfiguration.newBuilder()
            .setRequestBodyMode(ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED)
            .setResponseBodyMode(ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED)
            .build();

    /**
     * The first message of a stream: the request headers ({@code headers} are lower-case ordinary headers).
     *
     * @param endOfStream true only when the request has no body
     */
    public static ProcessingRequest requestHeaders(GatewayProfile profile, List<Map.Entry<String, String>> headers,
                                                   String method, String scheme, String authority, String path,
                                                   boolean endOfStream) {
        HeaderMap.Builder map = HeaderMap.newBuilder();
        String[][] pseudo = {{":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}};
        if (profile == GatewayProfile.ENVOY) {
            for (String[] p : pseudo) {
                map.addHeaders(raw(p[0], p[1]));
            }
        }
        for (Map.Entry<String, String> h : headers) {
            map.addHeaders(raw(h.getKey(), h.getValue()));
        }
        if (profile == GatewayProfile.AGENTGATEWAY) {
            for (String[] p : pseudo) {
                map.addHeaders(HeaderValue.newBuilder().setKey(p[0]).setValue(p[1]));
            }
        }
        return ProcessingRequest.newBuilder()
                .setRequestHeaders(HttpHeaders.newBuilder().setHeaders(map).setEndOfStream(endOfStream))
                .setProtocolConfig(FULL_DUPLEX)
                .build();
    }

    public static ProcessingRequest requestBody(ByteString chunk, boolean endOfStream) {
        return ProcessingRequest.newBuilder()
                .setRequestBody(HttpBody.newBuilder().setBody(chunk).setEndOfStream(endOfStream))
                .build();
    }

    /** Response headers, {@code :status} in {@code value} (agentgateway) or {@code raw_value} (Envoy). */
    public static ProcessingRequest responseHeaders(GatewayProfile profile, List<Map.Entry<String, String>> headers,
                                                    int status, String served, String destination,
                                                    boolean endOfStream) {
        HeaderMap.Builder map = HeaderMap.newBuilder();
        if (profile == GatewayProfile.ENVOY) {
            map.addHeaders(raw(":status", Integer.toString(status)));
        }
        for (Map.Entry<String, String> h : headers) {
            map.addHeaders(raw(h.getKey(), h.getValue()));
        }
        if (profile == GatewayProfile.AGENTGATEWAY) {
            map.addHeaders(HeaderValue.newBuilder().setKey(":status").setValue(Integer.toString(status)));
        }
        return ProcessingRequest.newBuilder()
                .setResponseHeaders(HttpHeaders.newBuilder().setHeaders(map).setEndOfStream(endOfStream))
                .setMetadataContext(responseMetadata(profile, served, destination))
                .build();
    }

    public static ProcessingRequest responseBody(GatewayProfile profile, ByteString chunk, boolean endOfStream,
                                                 String served, String destination) {
        return ProcessingRequest.newBuilder()
                .setResponseBody(HttpBody.newBuilder().setBody(chunk).setEndOfStream(endOfStream))
                .setMetadataContext(responseMetadata(profile, served, destination))
                .build();
    }

    /** agentgateway adds only the served endpoint; Istio forwards the whole {@code envoy.lb} namespace. */
    public static Metadata responseMetadata(GatewayProfile profile, String served, String destination) {
        Struct.Builder lb = Struct.newBuilder();
        if (profile == GatewayProfile.ENVOY && destination != null) {
            lb.putFields(DESTINATION_HEADER, Value.newBuilder().setStringValue(destination).build());
        }
        lb.putFields(SERVED_KEY, Value.newBuilder().setStringValue(served).build());
        return Metadata.newBuilder().putFilterMetadata(LB_NAMESPACE, lb.build()).build();
    }

    private static HeaderValue.Builder raw(String key, String value) {
        return HeaderValue.newBuilder().setKey(key).setRawValue(ByteString.copyFrom(value, StandardCharsets.UTF_8));
    }

    /** {@code raw_value} when set, else {@code value} (what agentgateway accepts in set_headers). */
    public static String headerValue(HeaderValue h) {
        return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toString(StandardCharsets.UTF_8);
    }

    /** The destination header the EPP set in its request-headers answer, or null. */
    public static String destinationHeader(ProcessingResponse headersResponse) {
        for (HeaderValueOption o : headersResponse.getRequestHeaders().getResponse().getHeaderMutation()
                .getSetHeadersList()) {
            if (o.getHeader().getKey().equalsIgnoreCase(DESTINATION_HEADER)) {
                return headerValue(o.getHeader());
            }
        }
        return null;
    }

    /** {@code dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"]}, or null. */
    public static String destinationMetadata(ProcessingResponse response) {
        if (!response.hasDynamicMetadata()) {
            return null;
        }
        Value lb = response.getDynamicMetadata().getFieldsMap().get(LB_NAMESPACE);
        if (lb == null || !lb.hasStructValue()) {
            return null;
        }
        Value dest = lb.getStructValue().getFieldsMap().get(DESTINATION_HEADER);
        return dest == null ? null : dest.getStringValue();
    }
}
