package io.epp4j.epp.endpoints;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class EndpointsFileWatcherTest {

    @Test
    void parsesLinesCommasCommentsAndIpv6() {
        assertEquals(List.of(new HostPort("10.0.0.1", 8000), new HostPort("10.0.0.2", 8001),
                        new HostPort("fd00::7", 9000)),
                EndpointsFileWatcher.parse("# pool\n10.0.0.1:8000, 10.0.0.2:8001\r\n\n  [fd00::7]:9000  # v6\n"));
    }

    @Test
    void aBadLineIsReportedWithItsNumber() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EndpointsFileWatcher.parse("10.0.0.1:8000\n10.0.0.2:http\n"));
        assertTrue(e.getMessage().startsWith("line 2:"), e.getMessage());
    }
}
