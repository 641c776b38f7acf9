package io.epp4j.epp.kvevents;

import com.code_intelligence.jazzer.junit.FuzzTest;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the KV-event decoder: any payload either decodes or fails with {@link MalformedEventException},
 * never anything else. Without {@code JAZZER_FUZZ=1} it replays the committed seeds (regression mode, part of
 * {@code mvn verify}); with it, it fuzzes.
 */
class KvEventDecoderFuzzTest {

    private static final KvEventDecoder DECODER = new KvEventDecoder(new KvEventDecoder.Limits(1 << 20, 10_000,
            1 << 16));

    @FuzzTest(maxDuration = "60s")
    void anyPayloadDecodesOrIsRejected(byte[] payload) {
        try {
            KvEventBatch batch = DECODER.decode(payload);
            assertNotNull(batch.events());
            for (KvEvent e : batch.events()) {
                if (e instanceof KvEvent.BlockStored s && s.tokenIds().length > 0) {
                    assertTrue((long) s.blockSize() * s.blockHashes().length == s.tokenIds().length);
                }
            }
        } catch (MalformedEventException e) {
            assertNotNull(e.reason());
        }
    }
}
