package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

import java.util.Map;
import java.util.Set;

/**
 * {@code anthropic-parser}: Anthropic's Messages API. {@code /v1/messages} must name a {@code model} and at least
 * one message; its prompt for prefix affinity is the raw JSON of {@code system} (when present) followed by that of
 * {@code messages}, the order in which the model server renders them. {@code /v1/messages/count_tokens} is routed
 * without interpreting its body. Thread-safe.
 */
final class AnthropicParser implements RequestParser {

    static final String TYPE = "anthropic-parser";
    static final String MESSAGES = "messages";
    static final String COUNT_TOKENS = "messages/count_tokens";

    private static final Set<String> FIELDS = Set.of("model", "messages", "system", "stream");
    private static final String WHAT = "messages request";

    @Override
    public ParsedRequest parse(Map<String, String> headers, byte[] body, int length) throws InvalidRequestException {
        String path = ApiPaths.path(headers);
        if (ApiPaths.matchesSuffix(path, COUNT_TOKENS)) {
            return ParsedRequest.uninterpreted("", length);
        }
        if (!ApiPaths.matchesSuffix(path, MESSAGES)) {
            throw new InvalidRequestException("unsupported API endpoint: " + path);
        }
        JsonFields f = JsonFields.read(body, length, FIELDS, WHAT);
        JsonFields.Value model = f.get("model");
        if (model == null || !model.isString() || model.text().isEmpty()) {
            throw new InvalidRequestException(OpenAiRequestParser.MODEL_NOT_FOUND);
        }
        JsonFields.Value messages = f.get("messages");
        if (messages == null || !messages.isArray() || JsonFields.isEmptyContainer(body, messages)) {
            throw new InvalidRequestException("invalid messages request: must have at least one message");
        }
        JsonFields.Value system = f.get("system");
        ByteSlice prompt;
        if (system == null) {
            prompt = new ByteSlice(body, messages.start(), messages.end() - messages.start());
        } else {
            // two separate fields: one copy, the system prompt first as the server renders it
            int s = system.end() - system.start();
            int m = messages.end() - messages.start();
            byte[] joined = new byte[s + m];
            System.arraycopy(body, system.start(), joined, 0, s);
            System.arraycopy(body, messages.start(), joined, s, m);
            prompt = ByteSlice.of(joined);
        }
        JsonFields.Value stream = f.get("stream");
        return new ParsedRequest(ApiType.MESSAGES, model.text(), model.start(), model.end(),
                stream != null && stream.isTrue(), "", prompt, length);
    }
}
