package io.epp4j.epp.endpoints;

import java.util.ArrayList;
import java.util.List;

/**
 * An {@code ip:port} pair (IPv6 as {@code [addr]:port}), as in {@code --endpoints} and {@code --endpoints-file}.
 *
 * @param ip the address, IPv6 without brackets
 * @param port 1-65535
 */
public record HostPort(String ip, int port) {

    /** Parses {@code ip:port} or {@code [v6]:port}; throws with a message for the user. */
    public static HostPort parse(String text) {
        String t = text.trim();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new IllegalArgumentException("want ip:port, got \"" + text + "\"");
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("IPv6 addresses need brackets: \"" + text + "\"");
        }
        if (host.isEmpty() || !host.chars().allMatch(HostPort::addressChar)) {
            throw new IllegalArgumentException("want an IP address or host name before the port, got \"" + text
                    + "\"");
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in \"" + text + "\"");
        }
        if (port <= 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range in \"" + text + "\"");
        }
        return new HostPort(host, port);
    }

    /** Letters, digits and {@code . : - _ %} (an IPv6 zone): what can go into a destination header as is. */
    private static boolean addressChar(int c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == ':'
                || c == '-' || c == '_' || c == '%';
    }

    /** Parses a comma- or whitespace-separated list of {@code ip:port}. */
    public static List<HostPort> parseList(String text) {
        List<HostPort> out = new ArrayList<>();
        for (String part : text.split("[,\\s]+")) {
            if (!part.isBlank()) {
                out.add(parse(part));
            }
        }
        return out;
    }
}
