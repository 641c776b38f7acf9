package io.epp4j.scorers;

import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PluginParametersTest {

    @ParameterizedTest
    @CsvSource({"50ms, 50", "2s, 2000", "1.5s, 1500", "1m30s, 90000", "250us, 0", "1h, 3600000"})
    void durationsUseGoSyntax(String text, long millis) {
        assertEquals(millis, new PluginParameters(Map.of("t", text)).getDuration("t", null).toMillis());
    }

    @Test
    void missingValuesTakeTheDefault() {
        PluginParameters p = PluginParameters.EMPTY;
        assertEquals(7, p.getInt("x", 7));
        assertEquals(Duration.ofMillis(5), p.getDuration("x", Duration.ofMillis(5)));
        assertEquals(List.of(), p.getStringList("x"));
        assertEquals(Map.of(), p.getMap("x"));
    }

    @Test
    void wrongTypesNameTheParameter() {
        PluginParameters p = new PluginParameters(Map.of("n", "many", "d", "soon", "b", "yes", "l", 3L,
                "f", 1.5));
        for (Runnable bad : List.<Runnable>of(() -> p.getInt("n", 0), () -> p.getDuration("d", null),
                () -> p.getBoolean("b", false), () -> p.getStringList("l"), () -> p.getLong("f", 0))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::run);
            assertTrue(e.getMessage().startsWith("parameter '"), e.getMessage());
        }
        assertEquals(1.5, p.getDouble("f", 0), 1e-9);
        assertEquals(3, new PluginParameters(Map.of("i", "3")).getInt("i", 0));
    }
}
