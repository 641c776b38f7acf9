package io.epp4j.epp.endpoints;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.epp4j.spi.EndpointInfo;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the files the EPP polls: {@code --endpoints-file} and {@code --inference-objectives-file}. Any text
 * either gives endpoints whose address can go into {@code x-gateway-destination-endpoint} and reads back the same,
 * or fails with IllegalArgumentException naming the line (the watcher then keeps the previous pool); any YAML gives
 * objectives with a name each, or IllegalArgumentException naming the document. Without {@code JAZZER_FUZZ=1} it
 * replays the committed seeds (part of {@code mvn verify}).
 */
class EndpointsFileFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void anyEndpointsFileGivesUsableAddressesOrNamesTheBadLine(byte[] raw) {
        List<HostPort> endpoints;
        try {
            endpoints = EndpointsFileWatcher.parse(new String(raw, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith("line "), e.getMessage());
            return;
        }
        for (HostPort hp : endpoints) {
            assertFalse(hp.ip().isEmpty(), "an endpoint has an address");
            assertTrue(hp.ip().chars().allMatch(EndpointsFileFuzzTest::addressChar),
                    "only address characters go into the destination header: " + hp.ip());
            assertTrue(hp.port() >= 1 && hp.port() <= 65535);
            String header = EndpointInfo.ofAddress(hp.ip(), hp.port()).hostPort();
            assertEquals(hp, HostPort.parse(header), "the destination reads back as the same endpoint");
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anyObjectivesFileGivesNamedPrioritiesOrNamesTheBadDocument(byte[] raw) {
        Map<String, Integer> priorities;
        try {
            priorities = ObjectivesFileWatcher.parse(new String(raw, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            assertTrue(e.getMessage().startsWith("document "), e.getMessage());
            return;
        }
        priorities.forEach((name, priority) -> {
            assertFalse(name.isEmpty());
            assertNotNull(priority);
        });
    }

    private static boolean addressChar(int c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == ':'
                || c == '-' || c == '_' || c == '%';
    }
}
