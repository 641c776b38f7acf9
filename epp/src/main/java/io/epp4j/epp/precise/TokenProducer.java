package io.epp4j.epp.precise;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;


/**
 * {@code token-producer} (legacy alias {@code tokenizer}), llm-d's: tokenizes each request through the model
 * server's render endpoints ({@code vllm.url}, default {@code http://localhost:8000}; {@code vllm.timeout} 5s) and
 * leaves the token ids in the cycle state ({@link TokenizedPrompt}) for {@code precise-prefix-cache-producer}.
 * epp4j adds {@code vllm.endpoint: render | tokenize} (render by default; {@code tokenize} uses vLLM's
 * {@code /tokenize}) and {@code cacheSize} (prompts kept, default 10,000). A request the server cannot tokenize gets
 * no token ids and is scored by the approximate index; failures are counted, never fail the request. A request that
 * carried its token ids (vLLM's generate, SGLang's {@code input_ids}, a vLLM gRPC tokenized input) is not sent to
 * the server: its ids are used as they are.
 * With epp4j's {@code tokenizerFile} (the model's Hugging Face {@code tokenizer.json}, e.g. from the mounted model
 * directory), completions prompts are tokenized in process ({@link HfTokenizer}) with no round trip; chat requests
 * still go to the render endpoint, which alone applies the model's chat template.
 */
public final class TokenProducer extends NamedPlugin implements DataProducer {

    public static final String TYPE = "token-producer";
    public static final String ALIAS = "tokenizer";
    private static final Logger LOG = LoggerFactory.getLogger(TokenProducer.class);

    private final Tokenizer tokenizer;
    private final PluginMetrics.Counter failures;
    private volatile long lastWarnNanos;
    private final java.util.function.LongSupplier ticker;

    public TokenProducer(String type, String name, PluginParameters parameters, PluginContext context) {
        super(type, name);
        String model = parameters.getString("modelName", "");
        if (model.isEmpty()) {
            throw new IllegalArgumentException("parameter 'modelName' is required");
        }
        PluginParameters vllm = new PluginParameters(parameters.getMap("vllm"));
        String url = vllm.getString("url", vllm.getString("http", "http://localhost:8000"));
        Duration timeout = vllm.getDuration("timeout", Duration.ofSeconds(5));
        VllmHttpTokenizer.Endpoint endpoint = switch (vllm.getString("endpoint", "render")) {
            case "render" -> VllmHttpTokenizer.Endpoint.RENDER;
            case "tokenize" -> VllmHttpTokenizer.Endpoint.TOKENIZE;
            default -> throw new IllegalArgumentException("parameter 'vllm.endpoint' must be render or tokenize");
        };
        if (vllm.has("mmTimeout")) {
            LOG.info("{}: vllm.mmTimeout is accepted but multimodal rendering is not implemented", name);
        }
        Tokenizer server = new VllmHttpTokenizer(url, endpoint, timeout, parameters.getInt("cacheSize", 10_000));
        String file = parameters.getString("tokenizerFile", "");
        if (file.isEmpty()) {
            this.tokenizer = server;
        } else {
            try {
                this.tokenizer = new LocalFirstTokenizer(HfTokenizer.load(Path.of(file)), server);
            } catch (IOException e) {
                throw new IllegalArgumentException("parameter 'tokenizerFile': " + e.getMessage(), e);
            }
            LOG.info("{}: completions prompts are tokenized in process with {}; chat requests through {}", name,
                    file, url);
        }
        this.ticker = context.nanoTicker();
        this.failures = context.metrics().counter("epp4j_tokenizer_failures_total",
                "Requests the token-producer could not tokenize (they are scored approximately)", "plugin");
    }

    /** For tests and other tokenizers. */
    public TokenProducer(String name, Tokenizer tokenizer, PluginContext context) {
        super(TYPE, name);
        this.tokenizer = tokenizer;
        this.ticker = context.nanoTicker();
        this.failures = context.metrics().counter("epp4j_tokenizer_failures_total",
                "Requests the token-producer could not tokenize (they are scored approximately)", "plugin");
    }

    @Override
    public boolean blocksOnIo() {
        return true;
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        if (request.promptTokenIds() != null) { // the request carried its tokens: nothing to render
            state.put(TokenizedPrompt.KEY, new TokenizedPrompt(request.promptTokenIds()));
            return;
        }
        try {
            state.put(TokenizedPrompt.KEY, tokenizer.tokenizePrompt(request));
        } catch (IOException | RuntimeException e) {
            failures.inc(name());
            long now = ticker.getAsLong();
            if (now - lastWarnNanos > 10_000_000_000L) {
                lastWarnNanos = now;
                LOG.warn("{}: cannot tokenize request {}: {}", name(), request.requestId(), e.getMessage());
            }
        }
    }

}
