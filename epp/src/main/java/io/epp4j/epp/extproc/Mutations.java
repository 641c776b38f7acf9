package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.StreamedBodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.SchedulingResult;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ext_proc messages the EPP reads and writes, built in one place: header values (read from {@code raw_value} or
 * {@code value}, written to {@code raw_value} only), the pick's header and {@code envoy.lb} metadata, streamed body
 * chunks, trailers answers and immediate responses. Stateless.
 */
final class Mutations {

    /** Envoy's recommended largest body chunk is 64 KiB; GAIE sends at most 62,000 bytes a chunk. */
    static final int MAX_CHUNK_BYTES = 62_000;
    static final String DESTINATION = "x-gateway-destination-endpoint";
    static final String LB_NAMESPACE = "envoy.lb";
    static final String SUBSET_NAMESPACE = "envoy.lb.subset_hint";
    static final String SUBSET_KEY = "x-gateway-destination-endpoint-subset";
    /** {@code envoy.lb} key of each candidate's weighted score, with {@code --lb-metadata-scores}. */
    static final String SCORES_KEY = "x-gateway-endpoint-scores";

    private Mutations() {
    }

    /** A set-header entry, value in {@code raw_value} (Envoy rejects both fields set), overwriting. */
    static HeaderValueOption header(String key, String value) {
        return HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(key)
                        .setRawValue(ByteString.copyFrom(value, StandardCharsets.UTF_8)))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                .build();
    }

    /** Header values come in raw_value (Envoy) or value (agentgateway's pseudo-headers): whichever is set. */
    static Map<String, String> readHeaders(HeaderMap map) {
        Map<String, String> into = new HashMap<>();
        for (HeaderValue h : map.getHeadersList()) {
            String value = h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
            into.put(h.getKey().toLowerCase(Locale.ROOT), value);
        }
        return into;
    }

    /** {@code dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"]}: what Istio routes on. */
    static Struct destinationMetadata(String destination) {
        return destinationMetadata(destination, Map.of());
    }

    /**
     * {@link #destinationMetadata(String)}, plus {@code envoy.lb/x-gateway-endpoint-scores}: a struct of each
     * candidate's weighted score by {@code ip:port}, when {@code scores} is not empty.
     */
    static Struct destinationMetadata(String destination, Map<String, Double> scores) {
        Struct.Builder lb = Struct.newBuilder()
                .putFields(DESTINATION, Value.newBuilder().setStringValue(destination).build());
        if (!scores.isEmpty()) {
            Struct.Builder byEndpoint = Struct.newBuilder();
            scores.forEach((endpoint, score) -> byEndpoint.putFields(endpoint,
                    Value.newBuilder().setNumberValue(score).build()));
            lb.putFields(SCORES_KEY, Value.newBuilder().setStructValue(byEndpoint).build());
        }
        return Struct.newBuilder().putFields(LB_NAMESPACE, Value.newBuilder().setStructValue(lb).build()).build();
    }

    /** Numeric attributes by namespace and name as dynamic metadata, or null when there are none. */
    static Struct attributesMetadata(Map<String, Map<String, Double>> attributes) {
        if (attributes.isEmpty()) {
            return null;
        }
        Struct.Builder all = Struct.newBuilder();
        attributes.forEach((namespace, values) -> {
            Struct.Builder ns = Struct.newBuilder();
            values.forEach((name, v) -> ns.putFields(name, Value.newBuilder().setNumberValue(v).build()));
            all.putFields(namespace, Value.newBuilder().setStructValue(ns).build());
        });
        return all.build();
    }

    /** The destination value: the primary target, or with fallbacks the comma list of every target. */
    static String destinationValue(SchedulingResult result, boolean fallbacks) {
        if (!fallbacks || result.targets().size() == 1) {
            return result.primary().hostPort();
        }
        StringBuilder sb = new StringBuilder();
        for (Endpoint e : result.targets()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e.hostPort());
        }
        return sb.toString();
    }

    /** A request-headers answer carrying the pick: the mutation, clear_route_cache and the envoy.lb metadata. */
    static ProcessingResponse pick(HeaderMutation.Builder mutation, String destination) {
        return pick(mutation, destination, Map.of());
    }

    /** {@link #pick(HeaderMutation.Builder, String)} with the candidates' scores in the metadata (empty: none). */
    static ProcessingResponse pick(HeaderMutation.Builder mutation, String destination, Map<String, Double> scores) {
        return ProcessingResponse.newBuilder()
                .setRequestHeaders(HeadersResponse.newBuilder().setResponse(CommonResponse.newBuilder()
                        .setClearRouteCache(true).setHeaderMutation(mutation)))
                .setDynamicMetadata(destinationMetadata(destination, scores)).build();
    }

    /** A headers answer that lets the headers continue with {@code mutation}. */
    static ProcessingResponse headersContinue(HeaderMutation.Builder mutation, boolean requestSide) {
        HeadersResponse answer = HeadersResponse.newBuilder()
                .setResponse(CommonResponse.newBuilder().setHeaderMutation(mutation)).build();
        ProcessingResponse.Builder b = ProcessingResponse.newBuilder();
        return (requestSide ? b.setRequestHeaders(answer) : b.setResponseHeaders(answer)).build();
    }

    /** A body answer in a non-duplex mode (CONTINUE, or the body replaced as {@code common} says). */
    static ProcessingResponse body(CommonResponse.Builder common, boolean requestSide) {
        BodyResponse answer = BodyResponse.newBuilder().setResponse(common).build();
        ProcessingResponse.Builder b = ProcessingResponse.newBuilder();
        return (requestSide ? b.setRequestBody(answer) : b.setResponseBody(answer)).build();
    }

    /** A body chunk in FULL_DUPLEX_STREAMED mode: {@code streamed_response}. */
    static ProcessingResponse streamedChunk(ByteString chunk, boolean endOfStream, boolean requestSide) {
        return body(CommonResponse.newBuilder().setBodyMutation(BodyMutation.newBuilder().setStreamedResponse(
                StreamedBodyResponse.newBuilder().setBody(chunk).setEndOfStream(endOfStream))), requestSide);
    }

    /** An (empty) trailers answer. */
    static ProcessingResponse trailers(boolean requestSide) {
        ProcessingResponse.Builder b = ProcessingResponse.newBuilder();
        return (requestSide ? b.setRequestTrailers(TrailersResponse.getDefaultInstance())
                : b.setResponseTrailers(TrailersResponse.getDefaultInstance())).build();
    }

    /** The gateway answers the client itself: status always set (agentgateway turns a missing one into 200). */
    static ProcessingResponse immediate(InferenceError error) {
        return ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
                .setStatus(HttpStatus.newBuilder().setCodeValue(error.code().httpStatus()))
                .setBody(ByteString.copyFromUtf8(error.responseBody()))).build();
    }

    /** An answer the EPP gives itself (e.g. {@code GET /v1/models}): status and a JSON body. */
    static ProcessingResponse immediateJson(int status, String json) {
        return ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
                .setStatus(HttpStatus.newBuilder().setCodeValue(status))
                .setHeaders(HeaderMutation.newBuilder().addSetHeaders(header("content-type", "application/json")))
                .setBody(ByteString.copyFromUtf8(json))).build();
    }

    /** The latest {@code envoy.lb} metadata as strings (e.g. x-gateway-destination-endpoint-served), or null. */
    static Map<String, String> lbMetadata(Metadata metadata) {
        Struct namespace = metadata.getFilterMetadataMap().get(LB_NAMESPACE);
        if (namespace == null) {
            return null;
        }
        Map<String, String> out = new HashMap<>();
        namespace.getFieldsMap().forEach((k, v) -> {
            if (v.hasStringValue()) {
                out.put(k, v.getStringValue());
            }
        });
        return out;
    }

    /** The gateway's subset hint ({@code ip:port} strings), or null when it sent none. */
    static List<String> subsetHint(Metadata metadata) {
        Struct namespace = metadata.getFilterMetadataMap().get(SUBSET_NAMESPACE);
        if (namespace == null) {
            return null;
        }
        Value value = namespace.getFieldsMap().get(SUBSET_KEY);
        if (value == null || value.getKindCase() != Value.KindCase.LIST_VALUE) {
            return null; // GAIE treats a non-list like an absent key
        }
        List<String> out = new ArrayList<>();
        for (Value v : value.getListValue().getValuesList()) {
            if (v.getKindCase() == Value.KindCase.STRING_VALUE) {
                out.add(v.getStringValue());
            }
        }
        return out;
    }
}
