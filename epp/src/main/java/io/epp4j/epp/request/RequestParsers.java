package io.epp4j.epp.request;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The configured parsers, and which one reads a request: the parser claiming the longest suffix of the request's
 * path, else the fallback (a parser that claims no path, such as {@code passthrough-parser}), else none (the request
 * is answered 400). Built as llm-d-router builds its list ({@code requestHandler.parsers}): in order, a second
 * parser of a type already listed is skipped, and the list ends at the first parser claiming no path. Immutable.
 */
public final class RequestParsers {

    private static final Logger LOG = LoggerFactory.getLogger(RequestParsers.class);

    public static final String OPENAI = "openai-parser";
    public static final String PASSTHROUGH = "passthrough-parser";
    public static final String VERTEXAI = VertexAiParser.TYPE;

    /** Every parser type the config may declare. */
    public static final Set<String> TYPES = Set.of(OPENAI, AnthropicParser.TYPE, GenerateParsers.VllmHttp.TYPE,
            GenerateParsers.SglangHttp.TYPE, VllmGrpcParser.TYPE, PASSTHROUGH, VERTEXAI);

    /** llm-d-router's parsers when its config lists none: OpenAI, Anthropic, vLLM HTTP, then pass-through. */
    public static final List<String> LLM_D_DEFAULT = List.of(OPENAI, AnthropicParser.TYPE,
            GenerateParsers.VllmHttp.TYPE, PASSTHROUGH);

    private static final RequestParser OPENAI_PARSER = (headers, body, length) ->
            OpenAiRequestParser.parse(ApiPaths.fromHeaders(headers), body, length);

    /** Not reading the body: the request is decided at its headers. */
    private static final RequestParser PASSTHROUGH_PARSER = new RequestParser() {
        @Override
        public ParsedRequest parse(Map<String, String> headers, byte[] body, int length) {
            return ParsedRequest.unread("", Math.max(0, ApiPaths.contentLength(headers)));
        }

        @Override
        public boolean readsBody() {
            return false;
        }
    };

    /** GAIE's single {@code openai-parser}, which reads every path (after the parsers it is built from). */
    public static final RequestParsers GAIE_DEFAULT = gaie(OPENAI, OPENAI);

    /**
     * One configured parser.
     *
     * @param name its name in the config
     * @param type its plugin type
     * @param paths the path suffixes it claims; empty for a fallback
     * @param parser the parser
     */
    public record Entry(String name, String type, List<String> paths, RequestParser parser) {

        public Entry {
            paths = List.copyOf(paths);
        }
    }

    /** A parser as the config declares it: its name and type. */
    public record Declared(String name, String type) {
    }

    private final List<Entry> claiming;
    private final Entry fallback;

    private RequestParsers(List<Entry> claiming, Entry fallback) {
        this.claiming = List.copyOf(claiming);
        this.fallback = fallback;
    }

    /**
     * llm-d-router's {@code requestHandler.parsers}, in order. A path none of them claims is answered 400 unless the
     * list ends with a fallback ({@code passthrough-parser}).
     *
     * @throws IllegalArgumentException for a type not in {@link #TYPES}
     */
    public static RequestParsers llmd(List<Declared> declared) {
        List<Entry> claiming = new ArrayList<>();
        Entry fallback = null;
        Set<String> types = new HashSet<>();
        for (int i = 0; i < declared.size(); i++) {
            Declared d = declared.get(i);
            if (!types.add(d.type())) {
                LOG.warn("Parser {} is skipped: a parser of type {} is already listed", d.name(), d.type());
                continue;
            }
            Entry e = entry(d);
            if (e.paths().isEmpty()) {
                fallback = e;
                for (Declared skipped : declared.subList(i + 1, declared.size())) {
                    LOG.warn("Parser {} is skipped: it is listed after the fallback parser {}", skipped.name(),
                            d.name());
                }
                break;
            }
            claiming.add(e);
        }
        return new RequestParsers(claiming, fallback);
    }

    /** GAIE's single {@code parser}: it reads every request, whatever its path. */
    public static RequestParsers gaie(String name, String type) {
        Entry e = entry(new Declared(name, type));
        return new RequestParsers(List.of(), new Entry(e.name(), e.type(), List.of(), e.parser()));
    }

    /** The parser of a request with these headers (lower-case names), or null when none reads its path. */
    public Entry resolve(Map<String, String> headers) {
        String path = ApiPaths.path(headers);
        Entry best = null;
        int bestLength = 0;
        for (Entry e : claiming) {
            for (String suffix : e.paths()) {
                if (suffix.length() > bestLength && ApiPaths.matchesSuffix(path, suffix)) {
                    best = e;
                    bestLength = suffix.length();
                }
            }
        }
        return best != null ? best : fallback;
    }

    /** The parsers in the order they are consulted, the fallback last. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(claiming);
        if (fallback != null) {
            out.add(fallback);
        }
        return out;
    }

    private static Entry entry(Declared d) {
        return switch (d.type()) {
            case OPENAI -> new Entry(d.name(), d.type(), List.of("chat/completions", "completions", "embeddings",
                    "responses", "conversations", "chat/completions/render", "completions/render",
                    "images/generations"), OPENAI_PARSER);
            case AnthropicParser.TYPE -> new Entry(d.name(), d.type(),
                    List.of(AnthropicParser.MESSAGES, AnthropicParser.COUNT_TOKENS), new AnthropicParser());
            case GenerateParsers.VllmHttp.TYPE -> new Entry(d.name(), d.type(),
                    List.of(GenerateParsers.VllmHttp.PATH), new GenerateParsers.VllmHttp());
            case GenerateParsers.SglangHttp.TYPE -> new Entry(d.name(), d.type(),
                    List.of(GenerateParsers.SglangHttp.PATH), new GenerateParsers.SglangHttp());
            case VllmGrpcParser.TYPE -> new Entry(d.name(), d.type(),
                    List.of(VllmGrpcParser.GENERATE, VllmGrpcParser.EMBED), new VllmGrpcParser());
            case PASSTHROUGH -> new Entry(d.name(), d.type(), List.of(), PASSTHROUGH_PARSER);
            // Vertex AI's gRPC methods are qualified by a versioned service name: it reads whatever is left
            case VERTEXAI -> new Entry(d.name(), d.type(), List.of(), new VertexAiParser());
            default -> throw new IllegalArgumentException("unknown parser type '" + d.type() + "'");
        };
    }
}
