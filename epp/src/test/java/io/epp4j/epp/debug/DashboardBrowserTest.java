package io.epp4j.epp.debug;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in a real browser: headless Chromium (Debian's {@code chromium} package, which {@code .ci/run}
 * installs), driven over the DevTools protocol ({@link DevToolsPage}), loads {@code /} from an EPP scraping three
 * real metrics servers while requests flow; the test waits for the live table, then reads the rendered page with
 * JavaScript: a row per endpoint with its scraped load, the latest decisions with their score tables, and both
 * moving on as new requests end. A screenshot goes to {@code target/dashboard.png}; with
 * {@code -Ddashboard.screenshot=PATH} also to PATH (the one in {@code docs/} is made so). Without Chromium the test
 * is skipped, except in CI ({@code CI=true}), where it fails.
 */
class DashboardBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @Test
    void dashboardShowsEndpointRowsAndDecisionsInARealBrowser() throws Exception {
        if (!Files.isExecutable(CHROMIUM)) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(CHROMIUM + " is missing: CI must install Debian's chromium (.ci/run does)");
            }
            Assumptions.abort(CHROMIUM + " not found: install Debian's chromium package to run the dashboard test"
                    + " (apt-get install -y chromium)");
        }
        try (DebugFixture f = new DebugFixture()) {
            for (int i = 0; i < 5; i++) {
                f.complete("warm-" + i, "llama-3-8b");
            }
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicBoolean shifting = new AtomicBoolean();
            Thread traffic = new Thread(() -> {
                int n = 0;
                try {
                    while (running.get()) {
                        if (shifting.get() && n % 40 == 0) {
                            for (int i = 0; i < DebugFixture.LOAD.length; i++) {
                                f.setLoad(i, DebugFixture.LOAD[(i + n / 40) % DebugFixture.LOAD.length]);
                            }
                        }
                        f.complete("req-" + n++, n % 3 == 0 ? "llama-3-8b" : "qwen3-8b");
                        Thread.sleep(15);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            traffic.setDaemon(true);
            traffic.start();
            Path profile = Files.createTempDirectory("chromium-profile");
            try (DevToolsPage page = DevToolsPage.launch(CHROMIUM, profile, 1280, 1500)) {
                page.navigate(f.baseUrl() + "/?interval=200");
                page.awaitTrue("the endpoint rows", "document.body !== null"
                        + " && document.body.getAttribute('data-loaded') === 'true'"
                        + " && document.querySelectorAll('#endpoints tbody tr').length === " + f.addresses.size());
                assertEquals(f.addresses, page.evaluate("Array.from(document.querySelectorAll('#endpoints tbody tr'))"
                        + ".map(r => r.getAttribute('data-endpoint'))"), "a row per endpoint, in order");
                String kv = (String) page.evaluate("document.querySelector('tr[data-endpoint=\"" + f.addresses.get(2)
                        + "\"]').cells[1].innerText");
                assertTrue(kv.contains("83.0%"), "the KV-cache column shows the scraped 0.83: " + kv);

                page.awaitTrue("a decision", "document.querySelector('details.decision') !== null");
                String first = (String) page.evaluate(
                        "document.querySelector('details.decision').getAttribute('data-request-id')");
                String breakdown = (String) page.evaluate("document.querySelector('details.decision').innerText");
                assertTrue(breakdown.contains("queue-scorer"), "its score breakdown names the scorers: " + breakdown);
                assertEquals(Boolean.TRUE, page.evaluate(
                        "document.querySelector('details.decision td.pick') !== null"), "and marks the pick");
                // live: the newest decision moves on as requests keep ending
                page.awaitTrue("a newer decision", "document.querySelector('details.decision')"
                        + ".getAttribute('data-request-id') !== " + DevToolsPage.quote(first));

                // the load moves between the model servers, so the picks move too; the charts fill for a few seconds
                shifting.set(true);
                page.awaitTrue("the charts' history", "history.times.length >= 25");
                Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
                Files.write(shot, page.screenshot());
                assertTrue(Files.size(shot) > 10_000, "a screenshot was taken");
                String copy = System.getProperty("dashboard.screenshot");
                if (copy != null && !copy.isEmpty()) {
                    Files.copy(shot, Path.of(copy), StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                running.set(false);
                traffic.join(5000);
                deleteTree(profile);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
