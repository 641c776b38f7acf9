package io.epp4j.bench.sim;

/**
 * The simulator's tokenizer: a prompt is cut into chunks of {@link SimConfig#CHARS_PER_TOKEN} characters (the last
 * one may be shorter), one token each, so a prompt of {@code n} characters has {@code ceil(n / 4)} tokens, as the
 * servers count them. A chunk's token id is a pure function of its characters:
 * <ul>
 *   <li>four ASCII characters: their 7-bit codes packed, first character highest
 *       ({@code c0 << 21 | c1 << 14 | c2 << 7 | c3}), so different chunks never share an id;</li>
 *   <li>anything else (a shorter last chunk, a non-ASCII character): {@code 2^28} plus the low 28 bits of the
 *       chunk's FNV-1a hash over its UTF-16 code units, its length first.</li>
 * </ul>
 * Ids are in {@code [0, 2^29)}. The KV-cache events' {@code token_ids}, {@code /tokenize} and the render endpoints all
 * use this function, so a router that keys on token ids sees the same ids as the pods' cache.
 */
public final class SimTokenizer {

    private static final int HASHED = 1 << 28;

    private SimTokenizer() {
    }

    /** The token ids of {@code text}. */
    public static int[] encode(CharSequence text) {
        return encode(text, 0, text.length());
    }

    /** The token ids of {@code text[from, to)}; {@code from} should be a multiple of the chunk size. */
    public static int[] encode(CharSequence text, int from, int to) {
        int chunk = SimConfig.CHARS_PER_TOKEN;
        int[] ids = new int[(to - from + chunk - 1) / chunk];
        for (int i = 0; i < ids.length; i++) {
            int start = from + i * chunk;
            ids[i] = tokenId(text, start, Math.min(to, start + chunk));
        }
        return ids;
    }

    /** The id of the token {@code text[from, to)} (at most {@link SimConfig#CHARS_PER_TOKEN} characters). */
    static int tokenId(CharSequence text, int from, int to) {
        if (to - from == 4) {
            char c0 = text.charAt(from);
            char c1 = text.charAt(from + 1);
            char c2 = text.charAt(from + 2);
            char c3 = text.charAt(from + 3);
            if ((c0 | c1 | c2 | c3) < 128) {
                return c0 << 21 | c1 << 14 | c2 << 7 | c3;
            }
        }
        int h = 0x811c9dc5;
        h = (h ^ (to - from)) * 0x01000193;
        for (int i = from; i < to; i++) {
            h = (h ^ text.charAt(i)) * 0x01000193;
        }
        return HASHED | (h & (HASHED - 1));
    }
}
