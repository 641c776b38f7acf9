package io.epp4j.scorers.conformance;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code header-based-testing-filter} (conformance tests only): keeps the endpoints listed in request header
 * {@code test-epp-endpoint-selection}, a comma list of {@code IP} (any port of that pod) or {@code IP:port}
 * (IPv6 with or without brackets). Header absent or blank ⇒ no endpoints (the request is answered 429); unmatched
 * entries are skipped; one endpoint per IP (the first matching entry wins), in the header's order.
 */
public final class HeaderBasedTestingFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "header-based-testing-filter";
    public static final String HEADER = "test-epp-endpoint-selection";

    public HeaderBasedTestingFilter(String name) {
        super(TYPE, name);
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        String header = request.header(HEADER);
        if (header == null || header.isBlank()) {
            return List.of();
        }
        List<Endpoint> out = new ArrayList<>();
        Set<String> usedIps = new HashSet<>();
        for (String raw : header.split(",")) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            String ip;
            int port = -1;
            if (entry.startsWith("[")) {
                int close = entry.indexOf(']');
                if (close < 0) {
                    continue;
                }
                ip = entry.substring(1, close);
                if (close + 1 < entry.length() && entry.charAt(close + 1) == ':') {
                    port = parsePort(entry.substring(close + 2));
                    if (port < 0) {
                        continue;
                    }
                }
            } else if (entry.indexOf(':') != entry.lastIndexOf(':')) {
                ip = entry; // bare IPv6, no port
            } else if (entry.indexOf(':') > 0) {
                ip = entry.substring(0, entry.indexOf(':'));
                port = parsePort(entry.substring(entry.indexOf(':') + 1));
                if (port < 0) {
                    continue;
                }
            } else {
                ip = entry;
            }
            if (usedIps.contains(ip)) {
                continue;
            }
            for (Endpoint e : endpoints) {
                if (e.info().ip().equals(ip) && (port < 0 || e.info().port() == port)) {
                    out.add(e);
                    usedIps.add(ip);
                    break;
                }
            }
        }
        return out;
    }

    private static int parsePort(String s) {
        try {
            int p = Integer.parseInt(s.trim());
            return p > 0 && p < 65536 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
