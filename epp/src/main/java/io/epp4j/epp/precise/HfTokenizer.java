package io.epp4j.epp.precise;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code tokenizer.json}, read and applied in pure Java (no native library, no download): the BPE
 * tokenizers of GPT-2, Llama 3, Qwen 2/3, DeepSeek and most current models. It gives the ids the Hugging Face
 * {@code tokenizers} library gives for the same file and text: added (special) tokens split out first, then the
 * normalizer, the pre-tokenizer, BPE on each piece, and the post-processor's special tokens when
 * {@code addSpecialTokens} is set (as vLLM's completions endpoint does).
 *
 * <p>Supported: normalizers {@code NFC}, {@code NFD}, {@code NFKC}, {@code NFKD}, {@code Lowercase},
 * {@code Prepend}, {@code Replace}, {@code Sequence}; pre-tokenizers {@code Split} (every behaviour but
 * {@code Contiguous}), {@code ByteLevel}, {@code Digits}, {@code Sequence}; the {@code BPE} model with
 * {@code ignore_merges}, {@code byte_fallback} and {@code unk_token}; post-processors {@code TemplateProcessing},
 * {@code BertProcessing}, {@code RobertaProcessing}, {@code ByteLevel}, {@code Sequence}. Anything else is refused
 * when the file is loaded, never silently mis-tokenized. Added tokens are matched on the text before
 * normalization. Thread-safe; BPE results are cached per pre-tokenized piece, so the pieces a prompt shares with
 * earlier ones (a system prompt, a conversation's history) cost a map lookup each.
 */
public final class HfTokenizer {

    private static final JsonFactory JSON = new JsonFactory();
    private static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final int CACHE_LIMIT = 200_000;
    private static final char[] BYTE_CHARS = byteChars();

    private record Added(String content, int id, boolean lstrip, boolean rstrip) {
    }

    /** Added tokens by first character, longest first. */
    private final Map<Character, List<Added>> addedByFirst = new HashMap<>();
    private final UnaryOperator<String> normalizer;
    private final List<PreTokenizer> preTokenizers;
    private final Map<String, Integer> vocab;
    /** (left id, right id) to (rank, merged id). */
    private final Map<Long, long[]> merges;
    private final boolean ignoreMerges;
    private final boolean byteFallback;
    private final Integer unkId;
    private final List<Object> single;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private HfTokenizer(Map<String, Object> root) {
        Map<String, Object> model = map(root.get("model"), "model");
        String type = str(model.get("type"), "BPE");
        if (!type.equals("BPE")) {
            throw new IllegalArgumentException("tokenizer model " + type + " is not supported (BPE only)");
        }
        // Qwen's and others' files carry both as "": the same as absent
        if (!str(model.get("continuing_subword_prefix"), "").isEmpty()
                || !str(model.get("end_of_word_suffix"), "").isEmpty()) {
            throw new IllegalArgumentException("BPE continuing_subword_prefix / end_of_word_suffix are not supported");
        }
        if (model.get("dropout") instanceof Number d && d.doubleValue() > 0) {
            throw new IllegalArgumentException("BPE dropout is not supported");
        }
        Map<String, Object> v = map(model.get("vocab"), "model.vocab");
        vocab = new HashMap<>(v.size() * 2);
        for (Map.Entry<String, Object> e : v.entrySet()) {
            vocab.put(e.getKey(), ((Number) e.getValue()).intValue());
        }
        List<Added> added = new ArrayList<>();
        for (Object o : list(root.get("added_tokens"))) {
            Map<String, Object> t = map(o, "added_tokens[]");
            if (Boolean.TRUE.equals(t.get("single_word"))) {
                throw new IllegalArgumentException("added tokens with single_word are not supported");
            }
            String content = str(t.get("content"), "");
            int id = ((Number) t.get("id")).intValue();
            added.add(new Added(content, id, Boolean.TRUE.equals(t.get("lstrip")),
                    Boolean.TRUE.equals(t.get("rstrip"))));
            vocab.putIfAbsent(content, id);
        }
        // longest first, so that at one position the longest added token wins
        added.sort(Comparator.comparingInt((Added a) -> a.content().length()).reversed());
        for (Added a : added) {
            if (!a.content().isEmpty()) {
                addedByFirst.computeIfAbsent(a.content().charAt(0), k -> new ArrayList<>()).add(a);
            }
        }
        merges = new HashMap<>();
        List<Object> m = list(model.get("merges"));
        for (int rank = 0; rank < m.size(); rank++) {
            String left;
            String right;
            if (m.get(rank) instanceof List<?> pair && pair.size() == 2) {
                left = (String) pair.get(0);
                right = (String) pair.get(1);
            } else if (m.get(rank) instanceof String s && s.indexOf(' ', 1) > 0) {
                int sp = s.indexOf(' ', 1);
                left = s.substring(0, sp);
                right = s.substring(sp + 1);
            } else {
                throw new IllegalArgumentException("unreadable merge " + m.get(rank));
            }
            Integer l = vocab.get(left);
            Integer r = vocab.get(right);
            Integer merged = vocab.get(left + right);
            if (l != null && r != null && merged != null) {
                merges.putIfAbsent(pairKey(l, r), new long[] {rank, merged});
            }
        }
        ignoreMerges = Boolean.TRUE.equals(model.get("ignore_merges"));
        byteFallback = Boolean.TRUE.equals(model.get("byte_fallback"));
        unkId = model.get("unk_token") instanceof String unk ? vocab.get(unk) : null;
        normalizer = normalizer(root.get("normalizer"));
        preTokenizers = new ArrayList<>();
        preTokenizer(root.get("pre_tokenizer"), preTokenizers);
        single = new ArrayList<>();
        postProcessor(root.get("post_processor"), single);
    }

    /** Reads a {@code tokenizer.json}; refuses what it cannot apply faithfully. */
    public static HfTokenizer load(Path file) throws IOException {
        return parse(Files.readAllBytes(file));
    }

    /** The same, from the file's bytes. */
    public static HfTokenizer parse(byte[] json) throws IOException {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), json)) {
            p.nextToken();
            Object root = read(p);
            if (!(root instanceof Map)) {
                throw new IOException("tokenizer.json is not a JSON object");
            }
            return new HfTokenizer(map(root, "tokenizer"));
        } catch (JacksonException e) {
            throw new IOException("unreadable tokenizer.json: " + e.getOriginalMessage(), e);
        } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
            throw new IOException("tokenizer.json: " + e.getMessage(), e);
        }
    }

    /** Forgets the BPE results cached per piece, so that the next text is tokenized from scratch (benchmarks). */
    public void clearCache() {
        cache.clear();
    }

    /** The text's token ids, with the post-processor's special tokens when {@code addSpecialTokens}. */
    public int[] encode(String text, boolean addSpecialTokens) {
        IntList out = new IntList();
        int plainFrom = 0;
        int i = 0;
        while (i < text.length()) {
            Added match = addedAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            if (match.lstrip()) {
                while (start > plainFrom && Character.isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            encodePlain(text.substring(plainFrom, start), out);
            out.add(match.id());
            i += match.content().length();
            if (match.rstrip()) {
                while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
                    i++;
                }
            }
            plainFrom = i;
        }
        encodePlain(text.substring(plainFrom), out);
        if (!addSpecialTokens || single.isEmpty()) {
            return out.toArray();
        }
        IntList framed = new IntList();
        for (Object piece : single) {
            if (piece instanceof int[] ids) {
                for (int id : ids) {
                    framed.add(id);
                }
            } else {
                framed.addAll(out);
            }
        }
        return framed.toArray();
    }

    private Added addedAt(String text, int at) {
        List<Added> candidates = addedByFirst.get(text.charAt(at));
        if (candidates != null) {
            for (Added a : candidates) {
                if (text.startsWith(a.content(), at)) {
                    return a;
                }
            }
        }
        return null;
    }

    private void encodePlain(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        List<String> pieces = List.of(normalizer.apply(text));
        for (PreTokenizer pre : preTokenizers) {
            List<String> next = new ArrayList<>(pieces.size() * 4);
            for (String piece : pieces) {
                pre.split(piece, next);
            }
            pieces = next;
        }
        for (String piece : pieces) {
            if (piece.isEmpty()) {
                continue;
            }
            int[] ids = cache.get(piece);
            if (ids == null) {
                ids = bpe(piece);
                if (cache.size() >= CACHE_LIMIT) {
                    cache.clear();
                }
                cache.put(piece, ids);
            }
            out.addAll(ids);
        }
    }

    // ---------------------------------------------------------------------------------------------- BPE

    private int[] bpe(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        IntList symbols = new IntList();
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            String ch = new String(Character.toChars(cp));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                symbols.add(id);
            } else if (byteFallback) {
                for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                    Integer byteId = vocab.get(String.format(Locale.ROOT, "<0x%02X>", b & 0xff));
                    if (byteId != null) {
                        symbols.add(byteId);
                    } else if (unkId != null) {
                        symbols.add(unkId);
                    }
                }
            } else if (unkId != null) {
                symbols.add(unkId);
            }
        }
        return merge(symbols.toArray());
    }

    /**
     * Applies the merges to {@code s}, lowest rank first and leftmost first among equal ranks (as the tokenizers
     * library does), in O(n log n): the symbols are a linked list and candidate pairs wait in a heap of
     * {@code rank << 32 | position}, a popped pair checked against what is at its position now.
     */
    private int[] merge(int[] s) {
        int n = s.length;
        if (n < 2) {
            return s;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Long> heap = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(heap, s, i, i + 1);
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.poll();
            int pos = (int) top;
            long rank = top >>> 32;
            int right = s[pos] < 0 ? -1 : next[pos];
            if (right < 0) {
                continue;
            }
            long[] m = merges.get(pairKey(s[pos], s[right]));
            if (m == null || m[0] != rank) {
                continue; // the pair at pos changed since it was offered
            }
            s[pos] = (int) m[1];
            s[right] = -1;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            alive--;
            if (prev[pos] >= 0) {
                offer(heap, s, prev[pos], pos);
            }
            if (next[pos] >= 0) {
                offer(heap, s, pos, next[pos]);
            }
        }
        int[] out = new int[alive];
        for (int i = 0, j = 0; i >= 0 && j < alive; i = next[i]) {
            out[j++] = s[i];
        }
        return out;
    }

    private void offer(PriorityQueue<Long> heap, int[] s, int left, int right) {
        long[] m = merges.get(pairKey(s[left], s[right]));
        if (m != null) {
            heap.add(m[0] << 32 | left);
        }
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    // ---------------------------------------------------------------------------------------------- normalizers

    private static UnaryOperator<String> normalizer(Object spec) {
        if (spec == null) {
            return UnaryOperator.identity();
        }
        Map<String, Object> n = map(spec, "normalizer");
        String type = str(n.get("type"), "");
        return switch (type) {
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "Prepend" -> {
                String prefix = str(n.get("prepend"), "");
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                Pattern pattern = pattern(n.get("pattern"));
                String content = Matcher.quoteReplacement(str(n.get("content"), ""));
                yield s -> pattern.matcher(s).replaceAll(content);
            }
            case "Sequence" -> {
                List<UnaryOperator<String>> steps = new ArrayList<>();
                for (Object o : list(n.get("normalizers"))) {
                    steps.add(normalizer(o));
                }
                yield s -> {
                    for (UnaryOperator<String> step : steps) {
                        s = step.apply(s);
                    }
                    return s;
                };
            }
            default -> throw new IllegalArgumentException("normalizer " + type + " is not supported");
        };
    }

    // ---------------------------------------------------------------------------------------------- pre-tokenizers

    /** Splits one piece into the next pieces (appended to {@code out}). */
    @FunctionalInterface
    private interface PreTokenizer {
        void split(String piece, List<String> out);
    }

    private static void preTokenizer(Object spec, List<PreTokenizer> out) {
        if (spec == null) {
            return;
        }
        Map<String, Object> p = map(spec, "pre_tokenizer");
        String type = str(p.get("type"), "");
        switch (type) {
            case "Sequence" -> {
                for (Object o : list(p.get("pretokenizers"))) {
                    preTokenizer(o, out);
                }
            }
            case "Split" -> {
                Pattern pattern = pattern(p.get("pattern"));
                String behavior = str(p.get("behavior"), "Isolated");
                boolean invert = Boolean.TRUE.equals(p.get("invert"));
                if (behavior.equals("Contiguous")) {
                    throw new IllegalArgumentException("Split behavior Contiguous is not supported");
                }
                out.add((piece, next) -> split(piece, pattern, behavior, invert, next));
            }
            case "ByteLevel" -> {
                boolean prefixSpace = Boolean.TRUE.equals(p.get("add_prefix_space"));
                Pattern regex = Boolean.FALSE.equals(p.get("use_regex")) ? null
                        : Pattern.compile(GPT2_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);
                out.add((piece, next) -> {
                    String s = prefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
                    if (regex == null) {
                        next.add(byteLevel(s));
                        return;
                    }
                    List<String> parts = new ArrayList<>();
                    split(s, regex, "Isolated", false, parts);
                    for (String part : parts) {
                        next.add(byteLevel(part));
                    }
                });
            }
            case "Digits" -> {
                Pattern digits = Pattern.compile(Boolean.TRUE.equals(p.get("individual_digits")) ? "\\p{Nd}"
                        : "\\p{Nd}+");
                out.add((piece, next) -> split(piece, digits, "Isolated", false, next));
            }
            default -> throw new IllegalArgumentException("pre-tokenizer " + type + " is not supported");
        }
    }

    private static void split(String s, Pattern pattern, String behavior, boolean invert, List<String> out) {
        // spans alternate: false = between matches, true = a match; invert swaps which are "matches"
        List<String> spans = new ArrayList<>();
        List<Boolean> isMatch = new ArrayList<>();
        Matcher m = pattern.matcher(s);
        int at = 0;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            if (m.start() > at) {
                spans.add(s.substring(at, m.start()));
                isMatch.add(invert);
            }
            spans.add(m.group());
            isMatch.add(!invert);
            at = m.end();
        }
        if (at < s.length()) {
            spans.add(s.substring(at));
            isMatch.add(invert);
        }
        switch (behavior) {
            case "Isolated" -> out.addAll(spans);
            case "Removed" -> {
                for (int i = 0; i < spans.size(); i++) {
                    if (!isMatch.get(i)) {
                        out.add(spans.get(i));
                    }
                }
            }
            case "MergedWithPrevious" -> {
                StringBuilder cur = new StringBuilder();
                for (int i = 0; i < spans.size(); i++) {
                    if (isMatch.get(i) && cur.length() > 0) {
                        out.add(cur.append(spans.get(i)).toString());
                        cur.setLength(0);
                    } else if (isMatch.get(i)) {
                        out.add(spans.get(i));
                    } else {
                        if (cur.length() > 0) {
                            out.add(cur.toString());
                            cur.setLength(0);
                        }
                        cur.append(spans.get(i));
                    }
                }
                if (cur.length() > 0) {
                    out.add(cur.toString());
                }
            }
            case "MergedWithNext" -> {
                StringBuilder cur = new StringBuilder();
                for (int i = 0; i < spans.size(); i++) {
                    if (isMatch.get(i)) {
                        if (cur.length() > 0) {
                            out.add(cur.toString());
                            cur.setLength(0);
                        }
                        cur.append(spans.get(i));
                    } else {
                        out.add(cur.append(spans.get(i)).toString());
                        cur.setLength(0);
                    }
                }
                if (cur.length() > 0) {
                    out.add(cur.toString());
                }
            }
            default -> throw new IllegalArgumentException("Split behavior " + behavior + " is not supported");
        }
    }

    /** GPT-2's byte-level alphabet: each UTF-8 byte of {@code s} as one printable character. */
    private static String byteLevel(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_CHARS[bytes[i] & 0xff];
        }
        return new String(out);
    }

    private static char[] byteChars() {
        char[] map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) (256 + extra++);
        }
        return map;
    }

    private static Pattern pattern(Object spec) {
        Map<String, Object> p = map(spec, "pattern");
        if (p.get("Regex") instanceof String regex) {
            // the tokenizers library's regexes are Unicode-aware: \s, \w and case folding included
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        }
        if (p.get("String") instanceof String literal) {
            return Pattern.compile(Pattern.quote(literal));
        }
        throw new IllegalArgumentException("pattern " + p + " is neither String nor Regex");
    }

    // ---------------------------------------------------------------------------------------------- post-processors

    /** Appends the single-sequence template: int[] for special tokens, the sequence as a null marker. */
    private static void postProcessor(Object spec, List<Object> out) {
        if (spec == null) {
            return;
        }
        Map<String, Object> p = map(spec, "post_processor");
        String type = str(p.get("type"), "");
        switch (type) {
            case "ByteLevel" -> {
                // offsets only
            }
            case "Sequence" -> {
                for (Object o : list(p.get("processors"))) {
                    List<Object> inner = new ArrayList<>();
                    postProcessor(o, inner);
                    if (!inner.isEmpty()) {
                        if (!out.isEmpty()) {
                            throw new IllegalArgumentException("more than one post-processor adds special tokens");
                        }
                        out.addAll(inner);
                    }
                }
            }
            case "TemplateProcessing" -> {
                Map<String, Object> specials = p.get("special_tokens") == null ? Map.of()
                        : map(p.get("special_tokens"), "special_tokens");
                for (Object o : list(p.get("single"))) {
                    Map<String, Object> piece = map(o, "single[]");
                    if (piece.get("SpecialToken") != null) {
                        String name = str(map(piece.get("SpecialToken"), "SpecialToken").get("id"), "");
                        Map<String, Object> special = map(specials.get(name), "special_tokens." + name);
                        List<Object> ids = list(special.get("ids"));
                        out.add(ids.stream().mapToInt(x -> ((Number) x).intValue()).toArray());
                    } else {
                        out.add(SEQUENCE);
                    }
                }
            }
            case "BertProcessing", "RobertaProcessing" -> {
                out.add(new int[] {((Number) list(p.get("cls")).get(1)).intValue()});
                out.add(SEQUENCE);
                out.add(new int[] {((Number) list(p.get("sep")).get(1)).intValue()});
            }
            default -> throw new IllegalArgumentException("post-processor " + type + " is not supported");
        }
    }

    private static final Object SEQUENCE = new Object();

    // ---------------------------------------------------------------------------------------------- JSON

    private static Object read(JsonParser p) {
        JsonToken t = p.currentToken();
        if (t == null) {
            throw new IllegalArgumentException("truncated JSON");
        }
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, read(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(read(p));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getString();
            }
            case VALUE_NUMBER_INT -> {
                return p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IllegalArgumentException("unexpected " + t);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String what) {
        if (!(o instanceof Map)) {
            throw new IllegalArgumentException(what + " must be an object");
        }
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return o == null ? List.of() : (List<Object>) o;
    }

    private static String str(Object o, String otherwise) {
        return o instanceof String s ? s : otherwise;
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) {
                add(v);
            }
        }

        void addAll(IntList other) {
            for (int i = 0; i < other.n; i++) {
                add(other.a[i]);
            }
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
