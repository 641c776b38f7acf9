package io.epp4j.bench.scrapeload;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for a fleet of model servers: N JDK HTTP servers on loopback, each serving the vLLM sample at
 * every path. Run as its own process by {@link ScrapeLoad} so its CPU is not charged to the scraper.
 * Started with {@code -Dsun.net.httpserver.nodelay=true}: without it the JDK server writes headers and body
 * separately and Nagle + delayed ACK stall every keep-alive response by ~40 ms.
 *
 * <p>Prints {@code PORTS p1,p2,...} once listening, then serves until stdin closes, then prints
 * {@code REQUESTS n} and exits.
 *
 * <p>Usage: {@code java -cp bench.jar io.epp4j.bench.scrapeload.SampleServer <count> [metrics-file]}
 */
public final class SampleServer {

    private SampleServer() {
    }

    public static void main(String[] args) throws IOException {
        int count = Integer.parseInt(args[0]);
        byte[] body = args.length > 1 ? Files.readAllBytes(Path.of(args[1])) : defaultSample();
        AtomicLong requests = new AtomicLong();
        List<HttpServer> servers = new ArrayList<>();
        StringJoiner ports = new StringJoiner(",");
        // A few shared handler threads for all servers: keeps the server side cheap and the thread count sane.
        var executor = Executors.newFixedThreadPool(4);
        for (int i = 0; i < count; i++) {
            HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
            s.setExecutor(executor);
            s.createContext("/", ex -> {
                requests.incrementAndGet();
                try (ex) {
                    ex.getRequestBody().readAllBytes();
                    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                    ex.sendResponseHeaders(200, body.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(body);
                    }
                }
            });
            s.start();
            servers.add(s);
            ports.add(Integer.toString(s.getAddress().getPort()));
        }
        System.out.println("PORTS " + ports);
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until the parent closes our stdin (or dies)
        }
        servers.forEach(s -> s.stop(0));
        executor.shutdownNow();
        System.out.println("REQUESTS " + requests.get());
        System.out.flush();
    }

    static byte[] defaultSample() throws IOException {
        try (InputStream in = SampleServer.class.getResourceAsStream("/io/epp4j/bench/jmh/vllm-metrics-sample.txt")) {
            return in.readAllBytes();
        }
    }
}
