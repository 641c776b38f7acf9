package io.epp4j.epp.request;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class ModelNamesTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String s(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void splicesTheModelValueAndEscapesIt() {
        byte[] body = b("{\"model\":\"a\",\"x\":1}");
        assertEquals("{\"model\":\"b\\\"q\",\"x\":1}", s(ModelNames.spliceModel(body, body.length, 9, 12, "b\"q")));
    }

    @Test
    void rewritesBothSpacingsBackAndLeavesOtherModelsAlone() {
        byte[] r = b("{\"model\":\"t\",\"a\":{\"model\": \"t\"},\"b\":{\"model\":\"tt\"}}");
        assertEquals("{\"model\":\"in\",\"a\":{\"model\": \"in\"},\"b\":{\"model\":\"tt\"}}",
                s(ModelNames.rewriteResponse(r, 0, r.length, "t", "in")));
        assertNull(ModelNames.rewriteResponse(b("{\"x\":1}"), 0, 7, "t", "in"));
    }
}
