package io.epp4j.epp.logging;

import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.MDCAdapter;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.json.JsonFactory;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Makes the {@link EppLogging} loggers: one per name, its level resolved once from the system properties. */
final class LineLoggerFactory implements ILoggerFactory {

    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter CONSOLE_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ").withZone(ZoneId.systemDefault());

    private final Map<String, Logger> loggers = new ConcurrentHashMap<>();
    private final MDCAdapter mdc;

    LineLoggerFactory(MDCAdapter mdc) {
        this.mdc = mdc;
    }

    @Override
    public Logger getLogger(String name) {
        return loggers.computeIfAbsent(name, n -> new LineLogger(n, level(n),
                "json".equalsIgnoreCase(System.getProperty("epp4j.log.encoder", "console"))));
    }

    /** The level of the longest configured prefix of {@code name}, else the default level. */
    static int level(String name) {
        String n = name;
        while (true) {
            String v = System.getProperty("epp4j.log.level." + n);
            if (v != null) {
                return parse(v);
            }
            int dot = n.lastIndexOf('.');
            if (dot < 0) {
                break;
            }
            n = n.substring(0, dot);
        }
        String fallback = System.getProperty("epp4j.log.level",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "info"));
        return parse(fallback);
    }

    private static int parse(String level) {
        return switch (level.trim().toLowerCase(Locale.ROOT)) {
            case "trace" -> Level.TRACE.toInt();
            case "debug" -> Level.DEBUG.toInt();
            case "warn" -> Level.WARN.toInt();
            case "error" -> Level.ERROR.toInt();
            case "off" -> Integer.MAX_VALUE;
            default -> Level.INFO.toInt();
        };
    }

    private final class LineLogger extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;
        private final int level;
        private final boolean json;
        private final String shortName;

        LineLogger(String name, int level, boolean json) {
            this.name = name;
            this.level = level;
            this.json = json;
            this.shortName = name.substring(name.lastIndexOf('.') + 1);
        }

        @Override
        public boolean isTraceEnabled() {
            return level <= Level.TRACE.toInt();
        }

        @Override
        public boolean isDebugEnabled() {
            return level <= Level.DEBUG.toInt();
        }

        @Override
        public boolean isInfoEnabled() {
            return level <= Level.INFO.toInt();
        }

        @Override
        public boolean isWarnEnabled() {
            return level <= Level.WARN.toInt();
        }

        @Override
        public boolean isErrorEnabled() {
            return level <= Level.ERROR.toInt();
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level eventLevel, org.slf4j.Marker marker, String pattern,
                                                   Object[] arguments, Throwable throwable) {
            String message = MessageFormatter.basicArrayFormat(pattern, arguments);
            String requestId = mdc.get(EppLogging.REQUEST_ID);
            Instant now = Instant.now();
            String line = json ? json(now, eventLevel, message, requestId, throwable)
                    : console(now, eventLevel, message, requestId, throwable);
            PrintStream err = System.err;
            err.print(line);
            err.flush();
        }

        private String console(Instant now, Level eventLevel, String message, String requestId,
                               Throwable throwable) {
            StringBuilder b = new StringBuilder(96 + message.length());
            b.append(CONSOLE_TIME.format(now)).append(' ').append(eventLevel).append(' ').append(shortName)
                    .append(" - ").append(message);
            if (requestId != null && !message.contains(requestId)) {
                b.append(" [request ").append(requestId).append(']');
            }
            b.append(System.lineSeparator());
            if (throwable != null) {
                b.append(stackTrace(throwable));
            }
            return b.toString();
        }

        /** zap's JSON field names ({@code ts}, {@code level}, {@code logger}, {@code msg}, ...), one object a line. */
        private String json(Instant now, Level eventLevel, String message, String requestId, Throwable throwable) {
            StringWriter out = new StringWriter(128 + message.length());
            try (JsonGenerator g = JSON.createGenerator(out)) {
                g.writeStartObject();
                g.writeStringProperty("ts", now.toString());
                g.writeStringProperty("level", eventLevel.toString().toLowerCase(Locale.ROOT));
                g.writeStringProperty("logger", name);
                g.writeStringProperty("msg", message);
                if (requestId != null) {
                    g.writeStringProperty("x-request-id", requestId);
                }
                if (throwable != null) {
                    g.writeStringProperty("error", throwable.toString());
                    g.writeStringProperty("stacktrace", stackTrace(throwable));
                }
                g.writeEndObject();
            }
            return out.append('\n').toString();
        }

        private String stackTrace(Throwable throwable) {
            StringWriter s = new StringWriter();
            throwable.printStackTrace(new PrintWriter(s));
            return s.toString();
        }
    }
}
