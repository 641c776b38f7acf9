package io.epp4j.epp.bbr;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** agentgateway's expressions over {@link CelBaseModel}, without a server. */
class CelBaseModelTest {

    private static BbrRequest request(String body, String model, boolean modelIsString) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return new BbrRequest(Map.of(":path", "/v1/completions"), model == null ? Map.of() : Map.of("model", model),
                modelIsString ? Set.of("model") : Set.of(), b, b.length);
    }

    @Test
    void readsTheModelTheRouterFoundWithoutScanningTheBodyAgain() {
        CelBaseModel cel = CelBaseModel.compile("json(request.body).model + '@' + json(request.body).tier");
        // "model" comes from what the router read (here deliberately not the body's), "tier" from the body
        assertEquals("seen@gold", cel.baseModel(request("{\"model\":\"in-body\",\"tier\":\"gold\"}", "seen", true)));
        // a number model is not a string: read from the body, as CEL's int
        CelBaseModel number = CelBaseModel.compile("string(json(request.body).model + 1)");
        assertEquals("43", number.baseModel(request("{\"model\":42}", "42", false)));
    }

    @Test
    void jsonOfAStringParsesIt() {
        CelBaseModel cel = CelBaseModel.compile("json(request.body).model + json('{\"x\": \"!\"}').x");
        assertEquals("m!", cel.baseModel(request("{\"model\":\"m\"}", "m", true)));
    }

    @Test
    void missesAreNullNotErrors() {
        CelBaseModel cel = CelBaseModel.compile("{\"a\": \"base\"}[json(request.body).model]");
        assertEquals("base", cel.baseModel(request("{\"model\":\"a\"}", "a", true)));
        assertNull(cel.baseModel(request("{\"model\":\"b\"}", "b", true)), "a missing key");
        assertNull(CelBaseModel.compile("size(json(request.body))").baseModel(request("{\"model\":\"a\"}", "a", true)),
                "not a string");
        assertNull(CelBaseModel.compile("json(request.body).model").baseModel(request("not json", null, false)));
    }
}
