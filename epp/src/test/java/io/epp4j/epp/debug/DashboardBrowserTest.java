package io.epp4j.epp.debug;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in a real browser: headless Chromium (Debian's {@code chromium} package, which {@code .ci/run}
 * installs) loads {@code /} from an EPP scraping three real metrics servers while requests flow, runs its
 * JavaScript, and the rendered page must show a row per endpoint with its scraped load and the latest decisions with
 * their score tables. A screenshot goes to {@code target/dashboard.png}; with {@code -Ddashboard.screenshot=PATH}
 * also to PATH (the one in {@code docs/} is made so). Without Chromium the test is skipped, except in CI
 * ({@code CI=true}), where it fails.
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
            try {
                String url = f.baseUrl() + "/?interval=300";
                String dom = chromium(profile, List.of("--dump-dom", url));
                for (String address : f.addresses) {
                    assertTrue(dom.contains("data-endpoint=\"" + address + "\""), "a row for " + address + "\n" + dom);
                }
                Matcher row = Pattern.compile("<tr data-endpoint=\"" + Pattern.quote(f.addresses.get(2))
                        + "\">(.*?)</tr>").matcher(dom);
                assertTrue(row.find(), dom);
                assertTrue(row.group(1).contains("83.0%"), "the KV-cache column shows the scraped 0.83: " + row.group(1));
                Matcher decision = Pattern.compile("class=\"decision\" data-request-id=\"([^\"]+)\"").matcher(dom);
                assertTrue(decision.find(), "a decision is listed\n" + dom);
                assertTrue(dom.contains("queue-scorer"), "its score breakdown names the scorers");
                assertTrue(dom.contains("class=\"pick\""), "and marks the pick");
                assertTrue(dom.contains("data-loaded=\"true\""), "the page loaded without an error");

                // the load moves between the model servers, so the picks move too
                shifting.set(true);
                Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
                Files.deleteIfExists(shot);
                chromium(profile, List.of("--window-size=1280,1500", "--hide-scrollbars", "--screenshot=" + shot, url));
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

    /** Runs headless Chromium on {@code args}; the page's timers get a few virtual seconds to poll and render. */
    private static String chromium(Path profile, List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                "--user-data-dir=" + profile, "--virtual-time-budget=4000"));
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish");
        }
        assertEquals(0, p.exitValue(), "chromium exit status");
        return new String(out, StandardCharsets.UTF_8);
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
