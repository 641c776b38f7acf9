package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;

import java.nio.charset.StandardCharsets;

/**
 * {@code always-disagg-multimodal-decider}: the encode stage runs for every request whose prompt carries an
 * {@code image_url}, {@code video_url} or {@code input_audio} content block. No parameters.
 */
public final class AlwaysDisaggMultimodalDecider extends NamedPlugin implements PdDecider {

    public static final String TYPE = "always-disagg-multimodal-decider";

    private static final byte[][] MEDIA = {
            "\"image_url\"".getBytes(StandardCharsets.US_ASCII),
            "\"video_url\"".getBytes(StandardCharsets.US_ASCII),
            "\"input_audio\"".getBytes(StandardCharsets.US_ASCII)};

    public AlwaysDisaggMultimodalDecider(String name) {
        super(TYPE, name);
    }

    @Override
    public boolean disaggregate(CycleState state, InferenceRequest request, Endpoint decode) {
        ByteSlice prompt = request.prompt();
        for (byte[] needle : MEDIA) {
            if (contains(prompt, needle)) {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(ByteSlice slice, byte[] needle) {
        byte[] a = slice.array();
        int end = slice.offset() + slice.length() - needle.length;
        outer:
        for (int i = slice.offset(); i <= end; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
