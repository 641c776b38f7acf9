package io.epp4j.epp;

import io.grpc.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Deque;
import java.util.concurrent.TimeUnit;

/** The shutdown steps the EPP and the body-based router share. */
final class Shutdown {

    private static final Logger LOG = LoggerFactory.getLogger(Shutdown.class);

    private Shutdown() {
    }

    /** Stops accepting streams and waits up to {@code grace} for the open ones; false when some are still open. */
    static boolean drain(Server server, Duration grace) {
        server.shutdown();
        try {
            return server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Cuts what the servers still run (null ones skipped), then closes the parts, last started first. */
    static void closeNow(Deque<AutoCloseable> closeables, Server... servers) {
        for (Server s : servers) {
            if (s != null) {
                s.shutdownNow();
                try {
                    s.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        while (!closeables.isEmpty()) {
            AutoCloseable c = closeables.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("Error while closing {}", c, e);
            }
        }
    }
}
