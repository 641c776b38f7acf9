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
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tokenizes through the model server, as vLLM serves it: {@code POST /v1/chat/completions/render} or
 * {@code /v1/completions/render} (chat template applied, answer carries {@code token_ids}), or {@code POST /tokenize}
 * (answer carries {@code tokens}). The request's own {@code messages} / {@code prompt} JSON is sent as it came.
 * Results are cached per (model, API, prompt bytes) in a bounded LRU, so a prompt repeated by a conversation or a
 * retry is tokenized once.
 *
 * <p>They are also found by prefix: a prompt that extends a cached one (the next turn of a conversation or an
 * agent's loop: the same {@code prompt} string or {@code messages} array with more appended) gets the cached
 * prompt's tokens at once, less its last {@value #SEAM_TOKENS} (what the appended text, or the chat template's
 * generation prompt, can tokenize differently), as a partial {@link TokenizedPrompt} whose total is estimated at
 * the cached prompt's bytes per token, with no round trip on the request's path. That is most of what a prefix
 * lookup needs: the blocks past the cached prompt are on a pod only if a request with this very prompt stored them.
 * The whole prompt is tokenized in the background meanwhile and cached in turn, so the next turn extends this one.
 * Cached prompts are found by a hash of their first {@value #PREFIX_CHUNK}-byte chunks, then checked over their
 * whole length by a second hash.
 */
public final class VllmHttpTokenizer implements Tokenizer {

    /** Which vLLM endpoint answers. */
    public enum Endpoint { RENDER, TOKENIZE }

    private static final JsonFactory JSON = new JsonFactory();
    /** A cached prompt is found by its whole chunks of this many bytes (shorter prompts are not). */
    static final int PREFIX_CHUNK = 1024;
    /** Tokens at a cached prompt's end not trusted to begin an extended prompt too. */
    public static final int SEAM_TOKENS = 32;
    private static final long SEED_CHAIN = 0x9E3779B97F4A7C15L;
    private static final long SEED_WHOLE = 0x5bd1e995L;

    private final URI base;
    private final Endpoint endpoint;
    private final Duration timeout;
    private final HttpClient http;
    private final Map<Key, int[]> cache;
    /**
     * Cached prompts by (model, API, chained hash of their whole chunks); guarded by {@code cache}, and pruned of
     * prompts the cache dropped whenever it grows past twice the cache's size.
     */
    private final Map<ChunkKey, Prefix> prefixes = new HashMap<>();

    private record Key(long h1, long h2, int length, String model, ApiType api) {
    }

    private record ChunkKey(long chain, String model, ApiType api) {
    }

    /** A cached prompt as a prefix: its open length (closing quote or bracket cut), that span's hash, its key. */
    private record Prefix(int openLength, long openHash, Key key) {
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
        Key key = keyOf(request);
        synchronized (cache) {
            int[] hit = cache.get(key);
            if (hit != null) {
                return hit;
            }
        }
        Entry entry = entryOf(request, key);
        HttpResponse<byte[]> response;
        try {
            response = http.send(post(request), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        int[] tokens = tokenIds(response);
        store(entry, tokens);
        return tokens;
    }

    @Override
    public TokenizedPrompt tokenizePrompt(InferenceRequest request) throws IOException {
        Key key = keyOf(request);
        synchronized (cache) {
            int[] hit = cache.get(key);
            if (hit != null) {
                return new TokenizedPrompt(hit);
            }
        }
        TokenizedPrompt extended = extending(request, key);
        if (extended == null) {
            return new TokenizedPrompt(tokenize(request));
        }
        // the whole prompt is tokenized meanwhile, so that the next turn extends this one, not the old one
        Entry entry = entryOf(request, key);
        http.sendAsync(post(request), HttpResponse.BodyHandlers.ofByteArray()).thenAccept(response -> {
            try {
                store(entry, tokenIds(response));
            } catch (IOException e) {
                // the next request that needs it asks again
            }
        });
        return extended;
    }

    /** What caching a prompt's tokens needs of it, taken before the request's bytes may go. */
    private record Entry(Key key, int openLength, long openHash, long lastChain) {
    }

    private static Entry entryOf(InferenceRequest request, Key key) {
        ByteSlice p = request.prompt();
        int open = openLength(p);
        long[] chains = chunkChains(p, open / PREFIX_CHUNK);
        return new Entry(key, open, XxHash64.hash(p.array(), p.offset(), open, SEED_WHOLE),
                chains.length == 0 ? 0 : chains[chains.length - 1]);
    }

    private void store(Entry entry, int[] tokens) {
        synchronized (cache) {
            cache.put(entry.key(), tokens);
            if (entry.openLength() >= PREFIX_CHUNK) {
                prefixes.put(new ChunkKey(entry.lastChain(), entry.key().model(), entry.key().api()),
                        new Prefix(entry.openLength(), entry.openHash(), entry.key()));
                if (prefixes.size() > 2 * cache.size() + 16) {
                    prefixes.values().removeIf(e -> !cache.containsKey(e.key()));
                }
            }
        }
    }

    /** The first tokens of the longest cached prompt this one extends, or null. */
    private TokenizedPrompt extending(InferenceRequest request, Key key) {
        ByteSlice p = request.prompt();
        long[] chains = chunkChains(p, p.length() / PREFIX_CHUNK);
        for (int k = chains.length - 1; k >= 0; k--) {
            Prefix prefix;
            int[] tokens;
            synchronized (cache) {
                prefix = prefixes.get(new ChunkKey(chains[k], key.model(), key.api()));
                tokens = prefix == null ? null : cache.get(prefix.key());
            }
            if (tokens == null || prefix.openLength() >= p.length()
                    || XxHash64.hash(p.array(), p.offset(), prefix.openLength(), SEED_WHOLE) != prefix.openHash()) {
                continue;
            }
            int keep = Math.max(0, tokens.length - SEAM_TOKENS);
            double tokensPerByte = (double) tokens.length / prefix.key().length();
            int total = (int) Math.round(tokens.length + (p.length() - prefix.key().length()) * tokensPerByte);
            return new TokenizedPrompt(Arrays.copyOf(tokens, keep), total);
        }
        return null;
    }

    private static Key keyOf(InferenceRequest request) {
        ByteSlice p = request.prompt();
        return new Key(XxHash64.hash(p.array(), p.offset(), p.length(), 1),
                XxHash64.hash(p.array(), p.offset(), p.length(), SEED_WHOLE), p.length(), request.targetModel(),
                request.api());
    }

    /**
     * The prompt's JSON without what closes it (trailing space, then the string's closing quote or the array's
     * closing bracket), so that a prompt with text or messages appended starts with exactly these bytes.
     */
    static int openLength(ByteSlice p) {
        int n = p.length();
        byte[] a = p.array();
        while (n > 0 && Character.isWhitespace(a[p.offset() + n - 1])) {
            n--;
        }
        if (n > 0 && (a[p.offset() + n - 1] == '"' || a[p.offset() + n - 1] == ']')) {
            n--;
        }
        return n;
    }

    /** Hashes of the first {@code 1 .. chunks} whole chunks, each chained from the one before. */
    private static long[] chunkChains(ByteSlice p, int chunks) {
        long[] out = new long[chunks];
        long h = SEED_CHAIN;
        for (int k = 0; k < chunks; k++) {
            h = XxHash64.hash(p.array(), p.offset() + k * PREFIX_CHUNK, PREFIX_CHUNK, h);
            out[k] = h;
        }
        return out;
    }

    private String path(InferenceRequest request) throws IOException {
        boolean chat = request.api() == ApiType.CHAT_COMPLETIONS;
        if (!chat && request.api() != ApiType.COMPLETIONS) {
            throw new IOException("cannot tokenize a " + request.api() + " request");
        }
        return switch (endpoint) {
            case RENDER -> chat ? "/v1/chat/completions/render" : "/v1/completions/render";
            case TOKENIZE -> "/tokenize";
        };
    }

    private HttpRequest post(InferenceRequest request) throws IOException {
        boolean chat = request.api() == ApiType.CHAT_COMPLETIONS;
        String path = path(request);
        ByteArrayOutputStream body = new ByteArrayOutputStream(request.prompt().length() + 64);
        body.writeBytes(("{\"model\":" + quote(request.targetModel()) + ",\"" + (chat ? "messages" : "prompt")
                + "\":").getBytes(StandardCharsets.UTF_8));
        body.write(request.prompt().array(), request.prompt().offset(), request.prompt().length());
        body.write('}');
        return HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
    }

    private int[] tokenIds(HttpResponse<byte[]> response) throws IOException {
        if (response.statusCode() != 200) {
            throw new IOException(response.uri().getPath() + " answered " + response.statusCode());
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
                            out = Arrays.copyOf(out, n * 2);
                        }
                        out[n++] = p.getIntValue();
                    }
                    if (p.currentToken() != JsonToken.END_ARRAY) {
                        throw new IOException("'" + field + "' is not an array of integers");
                    }
                    return Arrays.copyOf(out, n);
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
