package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.UnsafeByteOperations;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.request.ApiPaths;
import io.epp4j.epp.request.SseUsageScanner;
import io.epp4j.epp.request.UsageParser;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.ResponseUsage;

import java.util.Locale;
import java.util.Map;

/**
 * The response side of one stream: the response headers are answered at once ({@code x-went-into-resp-headers},
 * plus what the scheduler's hooks add); streamed responses ({@code text/event-stream}, gRPC, or {@code "stream": true})
 * are echoed chunk by chunk as they arrive, others are held until their end and echoed in 62,000-byte chunks. On
 * the way, token usage is read (from the JSON, or from the SSE events) and {@code "model"} is rewritten back to the
 * name the client asked for, by the request's {@link Exchange}. A held response takes its bytes from the streams'
 * shared body budget ({@code --max-buffered-body-bytes}); when the budget cannot hold it to its end, what is held is
 * sent on and the rest passes through chunk by chunk like a streamed response (the rewrite still applies per chunk;
 * the JSON usage is not read). Used by one thread at a time (the stream's {@link StreamOrder}).
 */
final class ResponseSide {

    private final Answers answers;
    private final StreamLimits limits;
    private BodySendMode mode = BodySendMode.FULL_DUPLEX_STREAMED;
    private Exchange exchange;
    private boolean streaming;
    /** The response's {@code content-length}, or -1: a response announced large counts as large for the budget. */
    private long declaredLength = -1;
    private BodyBuffer held;
    private SseUsageScanner sseUsage;
    private ResponseUsage usage = ResponseUsage.NONE;
    private boolean complete;
    private boolean attributesReported;

    ResponseSide(Answers answers, StreamLimits limits) {
        this.answers = answers;
        this.limits = limits;
    }

    void mode(BodySendMode mode) {
        this.mode = mode;
    }

    /** The request's handle, once decided (before: responses pass through without hooks or rewrite). */
    void exchange(Exchange exchange) {
        this.exchange = exchange;
    }

    /** Token usage read so far ({@link ResponseUsage#NONE} when the response reported none). */
    ResponseUsage usage() {
        return usage;
    }

    /** Whether the response ended (its end of stream or trailers). */
    boolean complete() {
        return complete;
    }

    /**
     * The size of the held response {@code message} ends, so that handling it echoes the whole response (and reads
     * its usage), or -1 when it does not: the stream hands large ones to a worker.
     */
    long flushBytes(ProcessingRequest message) {
        if (mode != BodySendMode.FULL_DUPLEX_STREAMED || streaming) {
            return -1;
        }
        long size = held == null ? 0 : held.size();
        if (message.hasResponseBody() && message.getResponseBody().getEndOfStream()) {
            return size + message.getResponseBody().getBody().size();
        }
        return message.hasResponseTrailers() && held != null ? size : -1;
    }

    void onHeaders(HttpHeaders message, Metadata metadata) {
        Map<String, String> headers = Mutations.readHeaders(message.getHeaders());
        String contentType = headers.getOrDefault("content-type", "").toLowerCase(Locale.ROOT);
        boolean sse = contentType.contains("text/event-stream");
        // gRPC responses are streams of messages (vLLM's Generate streams even when not asked to): never held
        streaming = sse || contentType.startsWith("application/grpc")
                || exchange != null && exchange.request().stream();
        if (sse) {
            sseUsage = new SseUsageScanner();
        }
        declaredLength = ApiPaths.contentLength(headers);
        HeaderMutation.Builder mutation = HeaderMutation.newBuilder()
                .addSetHeaders(Mutations.header("x-went-into-resp-headers", "true"));
        if (exchange != null) {
            // hooks may add response headers (conformance served-endpoint verifier, session affinity)
            exchange.onResponseHeaders(headers, Mutations.lbMetadata(metadata))
                    .forEach((k, v) -> mutation.addSetHeaders(Mutations.header(k, v)));
        }
        answers.send(Mutations.headersContinue(mutation, false));
        if (message.getEndOfStream()) {
            complete = true;
        }
    }

    void onBody(HttpBody message) {
        ByteString chunk = message.getBody();
        boolean eos = message.getEndOfStream();
        if (mode != BodySendMode.FULL_DUPLEX_STREAMED) {
            // BUFFERED / STREAMED response modes: answer each message, replacing the body only when rewritten
            byte[] bytes = chunk.toByteArray();
            observe(bytes, bytes.length, eos || mode != BodySendMode.STREAMED, eos);
            CommonResponse.Builder common = CommonResponse.newBuilder();
            byte[] rewritten = rewriteBack(bytes, bytes.length);
            if (rewritten != null) {
                common.setBodyMutation(BodyMutation.newBuilder().setBody(UnsafeByteOperations.unsafeWrap(rewritten)));
            }
            ProcessingResponse answer = Mutations.body(common, false);
            answers.send(eos ? answers.withEndMetadata(answer) : answer);
        } else if (streaming || complete) {
            passOn(chunk, eos); // after the response's end there is nothing to hold it for
        } else {
            if (held == null) {
                held = new BodyBuffer(Math.max(1024, chunk.size()), declaredLength, limits.responseBodies());
            }
            if (!held.tryAppend(chunk)) {
                passOnHeld();
                passOn(chunk, eos);
            } else if (eos) {
                flushHeld(true);
            }
        }
        if (eos) {
            complete = true;
        }
    }

    /** A streamed response's chunk: its usage read (SSE), then echoed at once, rewritten when it names the model. */
    private void passOn(ByteString chunk, boolean eos) {
        byte[] bytes = chunk.toByteArray();
        observe(bytes, bytes.length, false, eos);
        byte[] rewritten = rewriteBack(bytes, bytes.length);
        if (rewritten != null) {
            answers.streamedBody(rewritten, rewritten.length, eos, false);
        } else if (chunk.size() <= Mutations.MAX_CHUNK_BYTES) {
            answers.send(Mutations.streamedChunk(chunk, eos, false)); // the common case: the bytes as received
        } else {
            answers.streamedBody(bytes, bytes.length, eos, false);
        }
    }

    /**
     * The body budget cannot hold this response to its end: what is held goes on now, its bytes go back to the
     * budget, and the rest of the response passes through as a streamed one's does.
     */
    private void passOnHeld() {
        limits.responseNotHeld();
        byte[] bytes = held.array();
        int length = held.size();
        if (length > 0) {
            observe(bytes, length, false, false);
            byte[] rewritten = rewriteBack(bytes, length);
            answers.streamedBody(rewritten != null ? rewritten : bytes, rewritten != null ? rewritten.length : length,
                    false, false);
        }
        release();
        streaming = true;
    }

    /** Gives a held response's bytes back to the body budget (sent on, or the stream ended first); idempotent. */
    void release() {
        if (held != null) {
            held.release();
            held = null;
        }
    }

    void onTrailers() {
        if (mode == BodySendMode.FULL_DUPLEX_STREAMED && !streaming && held != null) {
            flushHeld(false); // the body ended with trailers: send it without end_of_stream
        }
        responseEnded();
        answers.send(Mutations.trailers(false));
        complete = true;
    }

    /**
     * The response's last bytes were read: takes the usage of an SSE stream's last event, and has the request's
     * reporters' attributes put on the answer that ends the response. Once.
     */
    private void responseEnded() {
        if (attributesReported) {
            return;
        }
        attributesReported = true;
        if (sseUsage != null) {
            sseUsage.finish();
            if (sseUsage.usage() != null) {
                usage = sseUsage.usage();
            }
        }
        if (exchange != null) {
            Struct metadata = Mutations.attributesMetadata(exchange.responseAttributes(usage));
            if (metadata != null) {
                answers.endMetadata(metadata);
            }
        }
    }

    private void flushHeld(boolean endOfStream) {
        byte[] bytes = held.array();
        int length = held.size();
        observe(bytes, length, true, true);
        byte[] rewritten = rewriteBack(bytes, length);
        if (rewritten != null) {
            answers.streamedBody(rewritten, rewritten.length, endOfStream, false);
        } else {
            answers.streamedBody(bytes, length, endOfStream, false);
        }
        release(); // the sent messages own the array now
    }

    /** The bytes with the client's model name put back, or null to send them as they are. */
    private byte[] rewriteBack(byte[] bytes, int length) {
        return exchange == null ? null : exchange.rewriteBack(bytes, 0, length);
    }

    /** Reads usage from {@code bytes[0, length)} and shows them to the request's hooks. */
    private void observe(byte[] bytes, int length, boolean wholeJson, boolean endOfStream) {
        if (length > 0) {
            if (sseUsage != null) {
                sseUsage.feed(bytes, 0, length);
                if (sseUsage.usage() != null) {
                    usage = sseUsage.usage();
                }
            } else if (wholeJson) {
                ResponseUsage found = UsageParser.parse(bytes, 0, length);
                if (found != null) {
                    usage = found;
                }
            }
        }
        if (endOfStream) {
            responseEnded();
        }
        if (exchange != null) {
            exchange.onResponseBody(new ByteSlice(bytes, 0, length), endOfStream);
        }
    }
}
