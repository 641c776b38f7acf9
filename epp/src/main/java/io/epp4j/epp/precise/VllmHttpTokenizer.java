package io.epp4j.epp.precise;

import io.epp4j.scorers.prefix.XxHash64;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.InferenceRequest;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tokenizes through the model server, as vLLM serves it: {@code POST /v1/chat/completions/render} or
 * {@code /v1/completions/render} (chat template applied, answer carries {@code token_ids}), or {@code POST /tokenize}
 * (answer carries {@code tokens}). The request's own {@code messages} / {@code prompt} JSON is sent as it came.
 * Results are cached per (model, API, prompt bytes) in a bounded LRU, so a prompt repeated by a conversation or a
 * retry is tokenized once.
 */
public final class VllmHttpTokenizer implements Tokenizer {

    /** Which vLLM endpoint answers. */
    public enum Endpoint { RENDER, TOKENIZE }

    private static final JsonFactory JSON = new JsonFactory();

    private final URI base;
    private final Endpoint endpoint;
    private final Duration timeout;
    private final HttpClient http;
    private final Map<Key, int[]> cache;

    private record Key(long h1, long h2, int length, String model, ApiType api) {
    }

    public VllmHttpTokenizer(String baseUrl, Endpoint endpoint, Duration timeout, int cacheEntries) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        this.endpoint = endpoint;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, int[]> eldest) {
                return size() > cacheEntries;
            }
        };
    }

    @Override
    public int[] tokenize(InferenceRequest request) throws IOException {
        ByteSlice p = request.prompt();
        Key key = new Key(XxHash64.hash(p.array(), p.offset(), p.length(), 1),
                XxHash64.hash(p.array(), p.offset(), p.length(), 0x5bd1e995L), p.length(), request.targetModel(),
                request.api());
        synchronized (cache) {
            int[] hit = cache.get(key);
            if (hit != null) {
                return hit;
            }
        }
        int[] tokens = fetch(request);
        synchronized (cache) {
            cache.put(key, tokens);
        }
        return tokens;
    }

    private int[] fetch(InferenceRequest request) throws IOException {
        boolean chat = request.api() == ApiType.CHAT_COMPLETIONS;
        if (!chat && request.api() != ApiType.COMPLETIONS) {
            throw new IOException("cannot tokenize a " + request.api() + " request");
        }
        String path = switch (endpoint) {
            case RENDER -> chat ? "/v1/chat/completions/render" : "/v1/completions/render";
            case TOKENIZE -> "/tokenize";
        };
        ByteArrayOutputStream body = new ByteArrayOutputStream(request.prompt().length() + 64);
        body.writeBytes(("{\"model\":" + quote(request.targetModel()) + ",\"" + (chat ? "messages" : "prompt")
                + "\":").getBytes(StandardCharsets.UTF_8));
        body.write(request.prompt().array(), request.prompt().offset(), request.prompt().length());
        body.write('}');
        HttpRequest post = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(post, HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (response.statusCode() != 200) {
            throw new IOException(path + " answered " + response.statusCode());
        }
        return tokenIds(response.body(), endpoint == Endpoint.RENDER ? "token_ids" : "tokens");
    }

    /** The first array of integers under {@code field}, wherever it sits in the answer. */
    static int[] tokenIds(byte[] json, String field) throws IOException {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), json)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.PROPERTY_NAME && p.currentName().equals(field)
                        && p.nextToken() == JsonToken.START_ARRAY) {
                    int[] out = new int[256];
                    int n = 0;
                    while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                        if (n == out.length) {
                            out = java.util.Arrays.copyOf(out, n * 2);
                        }
                        out[n++] = p.getIntValue();
                    }
                    if (p.currentToken() != JsonToken.END_ARRAY) {
                        throw new IOException("'" + field + "' is not an array of integers");
                    }
                    return java.util.Arrays.copyOf(out, n);
                }
            }
        } catch (tools.jackson.core.JacksonException e) {
            throw new IOException("unreadable tokenizer answer: " + e.getOriginalMessage());
        }
        throw new IOException("the tokenizer's answer has no '" + field + "'");
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
