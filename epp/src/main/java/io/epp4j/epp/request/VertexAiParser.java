package io.epp4j.epp.request;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.epp4j.spi.ApiType;

import java.io.IOException;
import java.util.Map;

/**
 * {@code vertexai-parser}: Vertex AI's gRPC prediction service ({@code google.cloud.aiplatform.*.PredictionService})
 * as llm-d reads it. The body is one gRPC message (5-byte prefix, as {@code vllmgrpc-parser} reads it) whose
 * {@code http_body} (field 2, a {@code google.api.HttpBody}) carries an OpenAI JSON body in its {@code data}
 * (field 2): a chat completions request for {@code ChatCompletions}, a responses request for {@code RawPredict} and
 * {@code StreamRawPredict}. That JSON is read as {@code openai-parser} reads those APIs (prompt, {@code stream},
 * {@code cache_salt}), except that it need not name a model (the Vertex endpoint names the deployment; model ""
 * then, and the {@code x-gateway-model-name-rewrite} header can name the target). The body is forwarded unchanged:
 * a model rewrite does not change it. Any other method is routed without interpreting the body. Compressed
 * messages, a message that does not decode and one without {@code http_body} are 400. Thread-safe.
 */
final class VertexAiParser implements RequestParser {

    static final String TYPE = "vertexai-parser";
    static final String CHAT_COMPLETIONS = "PredictionService/ChatCompletions";
    static final String STREAM_RAW_PREDICT = "PredictionService/StreamRawPredict";
    static final String RAW_PREDICT = "PredictionService/RawPredict";

    /** {@code http_body} in ChatCompletionsRequest, RawPredictRequest and StreamRawPredictRequest. */
    private static final int HTTP_BODY = 2;
    /** {@code data} in google.api.HttpBody. */
    private static final int DATA = 2;

    @Override
    public ParsedRequest parse(Map<String, String> headers, byte[] body, int length) throws InvalidRequestException {
        String path = ApiPaths.path(headers);
        String message;
        ApiType api;
        // the method follows the package-qualified service name, so match the plain suffix (llm-d does too)
        if (path.endsWith(CHAT_COMPLETIONS)) {
            message = "ChatCompletionsRequest";
            api = ApiType.CHAT_COMPLETIONS;
        } else if (path.endsWith(STREAM_RAW_PREDICT)) {
            message = "StreamRawPredictRequest";
            api = ApiType.RESPONSES;
        } else if (path.endsWith(RAW_PREDICT)) {
            message = "RawPredictRequest";
            api = ApiType.RESPONSES;
        } else {
            return ParsedRequest.uninterpreted("", length);
        }
        int size = VllmGrpcParser.messageSize(body, length);
        byte[] json = httpBodyData(body, size, message);
        ParsedRequest inner;
        try {
            inner = OpenAiRequestParser.parse(api, json, json.length, false);
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException("parsing " + message + ": " + e.getMessage());
        }
        // the prompt is a view into the JSON copy; the model cannot be spliced into the gRPC body
        return new ParsedRequest(api, inner.model(), -1, -1, inner.stream(), inner.cacheSalt(), inner.prompt(),
                length);
    }

    /** The {@code http_body.data} of the message at {@code body[5, 5 + size)}, copied out. */
    private static byte[] httpBodyData(byte[] body, int size, String message) throws InvalidRequestException {
        byte[] data = null;
        try {
            CodedInputStream in = CodedInputStream.newInstance(body, VllmGrpcParser.PREFIX_BYTES, size);
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (WireFormat.getTagFieldNumber(tag) == HTTP_BODY
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    CodedInputStream httpBody = CodedInputStream.newInstance(in.readByteBuffer());
                    int inner;
                    while ((inner = httpBody.readTag()) != 0) {
                        if (WireFormat.getTagFieldNumber(inner) == DATA
                                && WireFormat.getTagWireType(inner) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                            data = httpBody.readByteArray();
                        } else if (!httpBody.skipField(inner)) {
                            break;
                        }
                    }
                    if (data == null) {
                        data = new byte[0];
                    }
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new InvalidRequestException("unmarshaling " + message + ": " + e.getMessage());
        }
        if (data == null) {
            throw new InvalidRequestException(message + " has no HttpBody");
        }
        return data;
    }
}
