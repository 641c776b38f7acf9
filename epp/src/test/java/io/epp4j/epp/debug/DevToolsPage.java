package io.epp4j.epp.debug;

import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One page of a headless Chromium driven over the DevTools protocol: Chromium starts with
 * {@code --remote-debugging-port=0} and writes the port it chose to {@code DevToolsActivePort} in its profile; the
 * page's WebSocket (from {@code /json/list}) carries the commands ({@code Page.navigate}, {@code Runtime.evaluate},
 * {@code Page.captureScreenshot}), each answered by the message with its id.
 */
final class DevToolsPage implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Process chromium;
    private final OkHttpClient http = new OkHttpClient.Builder().readTimeout(Duration.ZERO).build();
    private final Map<Integer, CompletableFuture<Map<String, Object>>> answers = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private WebSocket socket;

    private DevToolsPage(Process chromium) {
        this.chromium = chromium;
    }

    /** Starts Chromium on a blank page with the profile directory {@code profile} and connects to the page. */
    static DevToolsPage launch(Path chromiumBinary, Path profile, int width, int height) throws Exception {
        Process p = new ProcessBuilder(chromiumBinary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--window-size=" + width + "," + height, "--remote-debugging-port=0",
                "about:blank").redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile())
                .start();
        DevToolsPage page = new DevToolsPage(p);
        try {
            page.connect(profile);
            return page;
        } catch (Exception | AssertionError e) {
            page.close();
            throw e;
        }
    }

    private void connect(Path profile) throws Exception {
        Path activePort = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        String port = null;
        while (port == null) {
            if (Files.exists(activePort)) {
                List<String> lines = Files.readAllLines(activePort);
                port = lines.isEmpty() || lines.get(0).isBlank() ? null : lines.get(0).trim();
            }
            if (port == null) {
                if (!chromium.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("chromium did not open its DevTools port: "
                            + Files.readString(profile.resolve("chromium.log")));
                }
                Thread.sleep(20);
            }
        }
        String pageSocket = null;
        while (pageSocket == null) {
            try (Response r = http.newCall(new Request.Builder().url("http://127.0.0.1:" + port + "/json/list")
                    .build()).execute()) {
                for (Object target : (List<?>) parse(r.body().string())) {
                    Map<?, ?> t = (Map<?, ?>) target;
                    if ("page".equals(t.get("type"))) {
                        pageSocket = (String) t.get("webSocketDebuggerUrl");
                    }
                }
            }
            if (pageSocket == null) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("chromium has no page target");
                }
                Thread.sleep(20);
            }
        }
        CompletableFuture<Void> open = new CompletableFuture<>();
        socket = http.newWebSocket(new Request.Builder().url(pageSocket).build(), new WebSocketListener() {
            @Override
            public void onOpen(WebSocket webSocket, Response response) {
                open.complete(null);
            }

            @Override
            @SuppressWarnings("unchecked")
            public void onMessage(WebSocket webSocket, String text) {
                Map<String, Object> message = (Map<String, Object>) parse(text);
                Object id = message.get("id");
                if (id instanceof Number n) {
                    CompletableFuture<Map<String, Object>> answer = answers.remove(n.intValue());
                    if (answer != null) {
                        answer.complete(message);
                    }
                }
            }

            @Override
            public void onFailure(WebSocket webSocket, Throwable t, Response response) {
                open.completeExceptionally(t);
                answers.values().forEach(a -> a.completeExceptionally(t));
                closed.complete(null);
            }

            @Override
            public void onClosed(WebSocket webSocket, int code, String reason) {
                closed.complete(null);
            }
        });
        open.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Sends {@code method} with {@code paramsJson} and returns the answer's {@code result}; fails on an error. */
    @SuppressWarnings("unchecked")
    Map<String, Object> call(String method, String paramsJson) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
        answers.put(id, answer);
        if (!socket.send("{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}")) {
            throw new AssertionError("the DevTools socket is closed");
        }
        Map<String, Object> message = answer.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (message.containsKey("error")) {
            throw new AssertionError(method + " failed: " + message.get("error"));
        }
        return (Map<String, Object>) message.get("result");
    }

    void navigate(String url) throws Exception {
        call("Page.navigate", "{\"url\":" + quote(url) + "}");
    }

    /** The value of a JavaScript expression evaluated in the page (JSON-serialisable values only). */
    @SuppressWarnings("unchecked")
    Object evaluate(String expression) throws Exception {
        Map<String, Object> result = call("Runtime.evaluate", "{\"expression\":" + quote(expression)
                + ",\"returnByValue\":true}");
        if (result.containsKey("exceptionDetails")) {
            throw new AssertionError("the page threw: " + result.get("exceptionDetails"));
        }
        return ((Map<String, Object>) result.get("result")).get("value");
    }

    /** Evaluates {@code expression} until it is true, up to the timeout. */
    void awaitTrue(String what, String expression) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!Boolean.TRUE.equals(evaluate(expression))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; page text: "
                        + evaluate("document.body ? document.body.innerText : ''"));
            }
            Thread.sleep(50);
        }
    }

    /** A PNG of the viewport. */
    byte[] screenshot() throws Exception {
        return Base64.getDecoder().decode((String) call("Page.captureScreenshot", "{\"format\":\"png\"}")
                .get("data"));
    }

    private static Object parse(String json) {
        // YAML 1.2 reads JSON
        return new Load(LoadSettings.builder().build()).loadFromString(json);
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (socket != null) {
            socket.close(1000, "done");
            try {
                closed.get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // closing anyway
            }
        }
        chromium.destroy();
        if (!chromium.waitFor(10, TimeUnit.SECONDS)) {
            chromium.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
