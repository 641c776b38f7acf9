package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Parses an OpenAI request body with a streaming JSON parser: only the top-level fields the EPP needs are read;
 * the prompt stays in the body array and is handed on as a {@link ByteSlice}. The whole body is still checked
 * to be well-formed JSON. Thread-safe.
 */
public final class OpenAiRequestParser {

    static final String MODEL_NOT_FOUND = "model not found in request body";

    private static final JsonFactory JSON = new JsonFactory();

    private OpenAiRequestParser() {
    }

    /** Parses {@code body[0, length)} for the given API; throws with GAIE-style messages on bad input. */
    public static ParsedRequest parse(ApiType api, byte[] body, int length) throws InvalidRequestException {
        return parse(api, body, length, true);
    }

    /**
     * {@link #parse(ApiType, byte[], int)}; without {@code modelRequired} a body naming no model is read with model
     * "" (a protocol that names the deployment elsewhere, such as Vertex AI's endpoint).
     */
    static ParsedRequest parse(ApiType api, byte[] body, int length, boolean modelRequired)
            throws InvalidRequestException {
        String model = null;
        int modelStart = -1;
        int modelEnd = -1;
        boolean stream = false;
        String cacheSalt = "";
        ByteSlice prompt = null;
        boolean promptNullOrEmpty = true;
        String promptField = promptField(api);
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidRequestException("error unmarshaling request body: the body is not a JSON object");
            }
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("model")) {
                    if (value == JsonToken.VALUE_STRING) {
                        modelStart = byteOffset(p.currentTokenLocation().getByteOffset());
                        model = p.getString();
                        modelEnd = byteOffset(p.currentLocation().getByteOffset());
                    } else {
                        model = null;
                        p.skipChildren();
                    }
                } else if (name.equals("stream")) {
                    stream = value == JsonToken.VALUE_TRUE;
                    p.skipChildren();
                } else if (name.equals("cache_salt")) {
                    cacheSalt = value == JsonToken.VALUE_STRING ? p.getString() : "";
                    p.skipChildren();
                } else if (name.equals(promptField)) {
                    int start = byteOffset(p.currentTokenLocation().getByteOffset());
                    if (value == JsonToken.VALUE_STRING) {
                        promptNullOrEmpty = p.getStringLength() == 0;
                    } else if (value.isStructStart()) {
                        p.skipChildren();
                    } else {
                        promptNullOrEmpty = value == JsonToken.VALUE_NULL;
                    }
                    int end = byteOffset(p.currentLocation().getByteOffset());
                    prompt = new ByteSlice(body, start, end - start);
                    if (value == JsonToken.START_ARRAY) {
                        promptNullOrEmpty = isEmptyContainer(body, start, end);
                    } else if (value == JsonToken.START_OBJECT) {
                        promptNullOrEmpty = false;
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new InvalidRequestException("error unmarshaling request body: trailing data after the object");
            }
        } catch (JacksonException e) {
            throw new InvalidRequestException("error unmarshaling request body: " + e.getOriginalMessage());
        }
        if ((model == null || model.isEmpty()) && modelRequired) {
            throw new InvalidRequestException(MODEL_NOT_FOUND);
        }
        if (prompt == null || promptNullOrEmpty) {
            throw new InvalidRequestException(missingPromptMessage(api));
        }
        return new ParsedRequest(api, model == null ? "" : model, modelStart, modelEnd, stream, cacheSalt, prompt,
                length);
    }

    /**
     * A parser offset into the body; -1 means the parser decoded the bytes as UTF-16 or UTF-32 (it detects those by
     * their zero bytes), which JSON on the wire must not be and whose offsets could not be spliced.
     */
    private static int byteOffset(long offset) throws InvalidRequestException {
        if (offset < 0) {
            throw new InvalidRequestException("error unmarshaling request body: the body is not UTF-8 JSON");
        }
        return (int) offset;
    }

    /** The top-level field that carries the prompt for an API. */
    public static String promptField(ApiType api) {
        return switch (api) {
            case CHAT_COMPLETIONS -> "messages";
            case COMPLETIONS -> "prompt";
            case RESPONSES, EMBEDDINGS -> "input";
            case CONVERSATIONS -> "items";
            case MESSAGES -> "messages";
            case GENERATE, OTHER -> "prompt";
        };
    }

    static String missingPromptMessage(ApiType api) {
        return switch (api) {
            case CHAT_COMPLETIONS -> "invalid chat completions request: must have valid messages field";
            case COMPLETIONS -> "invalid completions request: must have a non-empty prompt field";
            case RESPONSES -> "invalid responses request: must have input field";
            case EMBEDDINGS -> "invalid embeddings request: must have input field";
            case CONVERSATIONS -> "invalid conversations request: must have valid items field";
            case MESSAGES -> "invalid messages request: must have at least one message";
            case GENERATE, OTHER -> "invalid completions request: must have a non-empty prompt field";
        };
    }

    private static boolean isEmptyContainer(byte[] body, int start, int end) {
        for (int i = start + 1; i < end - 1; i++) {
            byte b = body[i];
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return true;
    }
}
