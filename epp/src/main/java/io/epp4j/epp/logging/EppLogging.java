package io.epp4j.epp.logging;

import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.helpers.BasicMDCAdapter;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The EPP's SLF4J backend: one line per event on standard error, as plain text ({@code console}, the default) or
 * as JSON objects ({@code --zap-encoder json}, what log pipelines built for GAIE's zap output parse), with the
 * request's id on every line logged while a request is handled. Configured by system properties, which
 * {@code Main} sets from the flags before the first logger is made:
 * <ul>
 *   <li>{@code epp4j.log.encoder}: {@code console} or {@code json};</li>
 *   <li>{@code epp4j.log.level}: {@code trace}, {@code debug}, {@code info} (default), {@code warn} or
 *       {@code error};</li>
 *   <li>{@code epp4j.log.level.<logger prefix>}: the level of the loggers under a name prefix (e.g.
 *       {@code epp4j.log.level.io.grpc=warn}).</li>
 * </ul>
 */
public final class EppLogging implements SLF4JServiceProvider {

    /** The MDC key of the request id ({@code x-request-id}) of the request being handled. */
    public static final String REQUEST_ID = "request_id";

    private final BasicMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new BasicMDCAdapter();
    private LineLoggerFactory loggers;

    @Override
    public ILoggerFactory getLoggerFactory() {
        return loggers;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    @Override
    public void initialize() {
        loggers = new LineLoggerFactory(mdc);
    }
}
