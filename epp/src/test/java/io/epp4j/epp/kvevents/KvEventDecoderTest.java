package io.epp4j.epp.kvevents;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvEventDecoderTest {

    private final KvEventDecoder decoder = new KvEventDecoder();

    /** The reference's byte-level example: one 16-token BlockStored in the map generation, hash above 2^63. */
    @Test
    void decodesVllmMapExampleWithUnsignedHash() throws Exception {
        StringBuilder hex = new StringBuilder("93cb41da13b86020000091");
        hex.append("8b").append(str("type")).append(str("BlockStored"));
        hex.append(str("block_hashes")).append("91cf9c1f3a5e7b2d4f60");
        hex.append(str("parent_block_hash")).append("c0");
        hex.append(str("token_ids")).append("dc0010ce0002505ccd0368ccc6");
        for (int i = 3; i < 16; i++) {
            hex.append(String.format("%02x", i));
        }
        hex.append(str("block_size")).append("10");
        hex.append(str("lora_id")).append("c0");
        hex.append(str("medium")).append(str("GPU"));
        hex.append(str("lora_name")).append("c0");
        hex.append(str("extra_keys")).append("91c0");
        hex.append(str("group_idx")).append("00");
        hex.append(str("kv_cache_spec_kind")).append(str("full_attention"));
        hex.append("00");
        KvEventBatch batch = decoder.decode(HexFormat.of().parseHex(hex));
        assertEquals(1750000000.5, batch.timestamp());
        assertEquals(0, batch.dataParallelRank());
        KvEvent.BlockStored s = assertInstanceOf(KvEvent.BlockStored.class, batch.events().get(0));
        assertArrayEquals(new long[] {0x9c1f3a5e7b2d4f60L}, s.blockHashes());
        assertFalse(s.hasParent());
        assertEquals(16, s.tokenIds().length);
        assertEquals(151644, s.tokenIds()[0]);
        assertEquals(872, s.tokenIds()[1]);
        assertEquals(198, s.tokenIds()[2]);
        assertEquals(16, s.blockSize());
        assertEquals("GPU", s.medium());
        assertNull(s.loraName());
        assertEquals("full_attention", s.specKind());
    }

    @ParameterizedTest
    @EnumSource(VllmPayloads.Encoding.class)
    void decodesAllThreeEventTypesInBothEncodings(VllmPayloads.Encoding encoding) throws Exception {
        byte[] payload = VllmPayloads.batch(encoding, 12.5,
                new VllmPayloads.Stored(new long[] {-7L, 42L}, -3L, new int[] {1, 2, 3, 4}, 2, "sql-lora", "CPU"),
                new VllmPayloads.Removed(new long[] {-7L}),
                new VllmPayloads.Cleared());
        KvEventBatch batch = decoder.decode(payload);
        assertEquals(3, batch.events().size());
        KvEvent.BlockStored s = (KvEvent.BlockStored) batch.events().get(0);
        assertArrayEquals(new long[] {-7L, 42L}, s.blockHashes());
        assertTrue(s.hasParent());
        assertEquals(-3L, s.parentHash());
        assertArrayEquals(new int[] {1, 2, 3, 4}, s.tokenIds());
        assertEquals("sql-lora", s.loraName());
        assertEquals("CPU", s.medium());
        assertArrayEquals(new long[] {-7L}, ((KvEvent.BlockRemoved) batch.events().get(1)).blockHashes());
        assertInstanceOf(KvEvent.AllBlocksCleared.class, batch.events().get(2));
    }

    @Test
    void olderArrayEventsWithFewerTrailingFieldsDecode() throws Exception {
        // v0.9: [tag, hashes, parent, tokens, block_size, lora_id]; batch [ts, events] without a rank
        String hex = "92cb3ff000000000000091" + "96" + str("BlockStored") + "9101" + "c0" + "92" + "0506" + "02" + "c0";
        KvEventBatch batch = decoder.decode(HexFormat.of().parseHex(hex));
        KvEvent.BlockStored s = (KvEvent.BlockStored) batch.events().get(0);
        assertArrayEquals(new int[] {5, 6}, s.tokenIds());
        assertEquals(KvEvent.NONE, batch.dataParallelRank());
        assertNull(s.medium());
    }

    @Test
    void byteDigestHashesUseTheirLastEightBytes() throws Exception {
        String digest = "00112233445566778899aabbccddeeff";
        String hex = "93cb3ff000000000000091" + "82" + str("type") + str("BlockRemoved") + str("block_hashes")
                + "91c410" + digest + "c0";
        KvEvent.BlockRemoved r = (KvEvent.BlockRemoved) decoder.decode(HexFormat.of().parseHex(hex)).events().get(0);
        assertEquals(0x8899aabbccddeeffL, r.blockHashes()[0]);
    }

    @Test
    void aMapBatchDecodesToo() throws Exception {
        String hex = "83" + str("ts") + "01" + str("events") + "91" + "81" + str("type") + str("AllBlocksCleared")
                + str("data_parallel_rank") + "03";
        KvEventBatch batch = decoder.decode(HexFormat.of().parseHex(hex));
        assertEquals(3, batch.dataParallelRank());
        assertInstanceOf(KvEvent.AllBlocksCleared.class, batch.events().get(0));
    }

    @Test
    void unknownEventTypesAreCountedAndSkipped() throws Exception {
        byte[] payload = VllmPayloads.batch(VllmPayloads.Encoding.ARRAY, 1, "SomethingNew",
                new VllmPayloads.Cleared());
        KvEventBatch batch = decoder.decode(payload);
        assertEquals(1, batch.unknownEvents());
        assertEquals(1, batch.events().size());
    }

    @Test
    void malformedPayloadsFailWithAReason() {
        byte[][] bad = {
            {}, {(byte) 0xc1}, HexFormat.of().parseHex("93cb3ff0"), HexFormat.of().parseHex("a3616263"),
            HexFormat.of().parseHex("92cb3ff0000000000000dd7fffffff"),
            HexFormat.of().parseHex("92cb3ff000000000000091" + "92" + str("BlockStored") + "a178"),
        };
        for (byte[] b : bad) {
            MalformedEventException e = assertThrows(MalformedEventException.class, () -> decoder.decode(b));
            assertTrue(java.util.Set.of("msgpack", "schema").contains(e.reason()), e.reason());
        }
    }

    @Test
    void hugeBatchesAreRejectedBeforeAllocation() {
        KvEventDecoder small = new KvEventDecoder(new KvEventDecoder.Limits(1 << 20, 2, 1000));
        byte[] payload = VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1, new VllmPayloads.Cleared(),
                new VllmPayloads.Cleared(), new VllmPayloads.Cleared());
        assertEquals("too_large", assertThrows(MalformedEventException.class, () -> small.decode(payload)).reason());
        KvEventDecoder tiny = new KvEventDecoder(new KvEventDecoder.Limits(8, 2, 1000));
        assertEquals("too_large", assertThrows(MalformedEventException.class, () -> tiny.decode(payload)).reason());
    }

    private static String str(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return String.format("%02x", 0xa0 | b.length) + HexFormat.of().formatHex(b);
    }
}
