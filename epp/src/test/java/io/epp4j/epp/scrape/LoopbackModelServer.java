package io.epp4j.epp.scrape;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** A real HTTP(S) server on loopback whose /metrics behaviour a test switches at run time. */
final class LoopbackModelServer implements AutoCloseable {

    /** What the next request gets. */
    interface Behaviour {
        void handle(HttpExchange exchange, LoopbackModelServer server) throws IOException;
    }

    static Behaviour serve(byte[] body) {
        return (ex, s) -> {
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        };
    }

    static Behaviour status(int code) {
        return (ex, s) -> {
            byte[] body = "oops".getBytes();
            ex.sendResponseHeaders(code, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        };
    }

    /** Answers only after {@code millis}, then with {@code body}. */
    static Behaviour slow(long millis, byte[] body) {
        return (ex, s) -> {
            s.awaitRelease(millis);
            serve(body).handle(ex, s);
        };
    }

    /** Never answers until the server is closed or {@link #release()} is called. */
    static Behaviour hang(byte[] bodyAfterRelease) {
        return (ex, s) -> {
            s.arrived.countDown();
            s.awaitRelease(60_000);
            serve(bodyAfterRelease).handle(ex, s);
        };
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-model-server");
        t.setDaemon(true);
        return t;
    });
    private final AtomicReference<Behaviour> behaviour;
    private final AtomicInteger requests = new AtomicInteger();
    private final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    private final CountDownLatch released = new CountDownLatch(1);
    final CountDownLatch arrived = new CountDownLatch(1);
    volatile String lastAcceptEncoding;
    volatile String lastPath;

    private LoopbackModelServer(HttpServer server, Behaviour initial) {
        this.server = server;
        this.behaviour = new AtomicReference<>(initial);
        server.setExecutor(executor);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            clientPorts.add(ex.getRemoteAddress().getPort());
            lastAcceptEncoding = String.valueOf(ex.getRequestHeaders().getFirst("Accept-Encoding"));
            lastPath = ex.getRequestURI().getPath();
            try {
                behaviour.get().handle(ex, this);
            } catch (IOException e) {
                // client went away (timeout, cancel): nothing to do
            } finally {
                ex.close();
            }
        });
        server.start();
    }

    static LoopbackModelServer http(Behaviour initial) throws IOException {
        return new LoopbackModelServer(HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0), initial);
    }

    static LoopbackModelServer https(Behaviour initial) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = LoopbackModelServer.class.getResourceAsStream("selfsigned.p12")) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx));
        return new LoopbackModelServer(s, initial);
    }

    void set(Behaviour b) {
        behaviour.set(b);
    }

    int port() {
        return server.getAddress().getPort();
    }

    int requests() {
        return requests.get();
    }

    int distinctClientPorts() {
        return clientPorts.size();
    }

    void release() {
        released.countDown();
    }

    private void awaitRelease(long millis) {
        try {
            released.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        release();
        server.stop(0);
        executor.shutdownNow();
    }
}
