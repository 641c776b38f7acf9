package io.epp4j.epp.bbr;

import com.google.protobuf.ByteString;
import com.google.protobuf.NullValue;
import com.google.protobuf.UnsafeByteOperations;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The base model from a CEL expression as agentgateway's pre-routing policy writes it, e.g.
 * {@code {"food-review-1": "Qwen/Qwen3-0.6B"}[json(request.body).model]}, so one mapping moves between gateways.
 * The environment is agentgateway's where it matters here: {@code request.body} (bytes), {@code request.headers}
 * (a map, lower-case names), {@code request.method}, {@code request.path}, {@code request.host}, the function
 * {@code json(bytes|string)} and CEL's standard functions and macros. The expression is compiled once; an
 * evaluation error (a key missing from the map, a body that is not JSON) or a result that is not a string is a
 * miss. Thread-safe.
 */
public final class CelBaseModel implements BaseModelLookup {

    private static final Logger LOG = LoggerFactory.getLogger(CelBaseModel.class);

    /** The request an evaluation on this thread is for, and the ByteString its {@code request.body} is. */
    private record Evaluation(BbrRequest request, ByteString body) {
    }

    private static final ThreadLocal<Evaluation> EVALUATION = new ThreadLocal<>();

    private final String expression;
    private final CelRuntime.Program program;

    private CelBaseModel(String expression, CelRuntime.Program program) {
        this.expression = expression;
        this.program = program;
    }

    /**
     * Compiles {@code expression}.
     *
     * @throws IllegalArgumentException with CEL's message (line:column and a caret under the error) when it does
     *         not parse or type-check
     */
    public static CelBaseModel compile(String expression) {
        Cel cel = CelFactory.standardCelBuilder()
                .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .addVar("request", MapType.create(SimpleType.STRING, SimpleType.DYN))
                .addFunctionDeclarations(CelFunctionDecl.newFunctionDeclaration("json",
                        CelOverloadDecl.newGlobalOverload("json_bytes", SimpleType.DYN, SimpleType.BYTES),
                        CelOverloadDecl.newGlobalOverload("json_string", SimpleType.DYN, SimpleType.STRING)))
                .addFunctionBindings(
                        CelFunctionBinding.from("json_bytes", ByteString.class, CelBaseModel::json),
                        CelFunctionBinding.from("json_string", String.class,
                                s -> json(s.getBytes(StandardCharsets.UTF_8))))
                .build();
        try {
            return new CelBaseModel(expression, cel.createProgram(cel.compile(expression).getAst()));
        } catch (CelValidationException e) {
            throw new IllegalArgumentException("invalid --base-model-cel expression: " + e.getMessage(), e);
        } catch (CelEvaluationException e) {
            throw new IllegalArgumentException("invalid --base-model-cel expression: " + e.getMessage(), e);
        }
    }

    private static Object json(byte[] bytes) {
        return new LazyJsonObject(bytes, bytes.length, NullValue.NULL_VALUE, Map.of());
    }

    /**
     * {@code json(bytes)}: on the body of the request being evaluated on this thread it reads the body array in
     * place (no copy) and knows the {@code model} the router has read already, so {@code json(request.body).model}
     * scans nothing again; on other bytes it parses a copy.
     */
    private static Object json(ByteString bytes) {
        Evaluation e = EVALUATION.get();
        if (e != null && bytes == e.body) {
            BbrRequest r = e.request;
            Map<String, Object> known = r.model() != null
                    && r.stringFields().contains(BaseModelToHeader.MODEL_FIELD)
                    ? Map.of(BaseModelToHeader.MODEL_FIELD, r.model()) : Map.of();
            return new LazyJsonObject(r.body(), r.length(), NullValue.NULL_VALUE, known);
        }
        return json(bytes.toByteArray());
    }

    @Override
    public String baseModel(BbrRequest request) {
        ByteString body = UnsafeByteOperations.unsafeWrap(request.body(), 0, request.length());
        Map<String, Object> vars = new HashMap<>(8);
        vars.put("body", body);
        vars.put("headers", request.headers());
        vars.put("method", request.headers().getOrDefault(":method", ""));
        vars.put("path", request.headers().getOrDefault(":path", ""));
        vars.put("host", request.headers().getOrDefault(":authority", ""));
        try {
            EVALUATION.set(new Evaluation(request, body));
            Object result = program.eval(Map.of("request", vars));
            if (result instanceof String s) {
                return s;
            }
            LOG.debug("--base-model-cel gave {} for model {}, not a string: a miss", result, request.model());
        } catch (CelEvaluationException | RuntimeException e) {
            LOG.debug("--base-model-cel found no base model for {}: {}", request.model(), e.getMessage());
        } finally {
            EVALUATION.remove();
        }
        return null;
    }

    @Override
    public String toString() {
        return "CEL " + expression;
    }
}
