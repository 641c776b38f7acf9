package io.epp4j.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Many scrape targets for decision-speed runs: each port answers every HTTP request with a fixed vLLM
 * {@code /metrics} body (different queue/KV values per endpoint), all served by one selector thread so that
 * the endpoints cost the measured JVM almost nothing. They serve no inference: the load generator never
 * proxies a request to them.
 */
final class MetricsStubFleet implements AutoCloseable {

    private final Selector selector;
    private final List<ServerSocketChannel> servers = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final Thread loop;
    private volatile boolean running = true;

    MetricsStubFleet(int endpoints, long seed) throws IOException {
        selector = Selector.open();
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < endpoints; i++) {
            ServerSocketChannel ch = ServerSocketChannel.open();
            ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
            ch.configureBlocking(false);
            byte[] response = response(r.nextInt(8), r.nextInt(4), r.nextDouble() * 0.8);
            ch.register(selector, SelectionKey.OP_ACCEPT, response);
            servers.add(ch);
            addresses.add("127.0.0.1:" + ch.socket().getLocalPort());
        }
        loop = new Thread(this::serve, "metrics-stubs");
        loop.setDaemon(true);
        loop.start();
    }

    List<String> addresses() {
        return addresses;
    }

    private static byte[] response(int running, int waiting, double kv) {
        String l = "{engine=\"0\",model_name=\"Qwen/Qwen3-8B\"}";
        String body = String.format(Locale.ROOT, """
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running%s %d.0
                # TYPE vllm:num_requests_waiting gauge
                vllm:num_requests_waiting%s %d.0
                # TYPE vllm:kv_cache_usage_perc gauge
                vllm:kv_cache_usage_perc%s %.4f
                # TYPE vllm:cache_config_info gauge
                vllm:cache_config_info{block_size="16",engine="0",num_gpu_blocks="8192"} 1.0
                """, l, running, l, waiting, l, kv);
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " + b.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[h.length + b.length];
        System.arraycopy(h, 0, out, 0, h.length);
        System.arraycopy(b, 0, out, h.length, b.length);
        return out;
    }

    private void serve() {
        ByteBuffer in = ByteBuffer.allocate(8192);
        while (running) {
            try {
                selector.select(200);
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        SocketChannel c = ((ServerSocketChannel) k.channel()).accept();
                        if (c != null) {
                            c.configureBlocking(false);
                            c.register(selector, SelectionKey.OP_READ, new StringBuilder()).attach(new Object[] {k.attachment(), new StringBuilder()});
                        }
                    } else if (k.isReadable()) {
                        SocketChannel c = (SocketChannel) k.channel();
                        Object[] state = (Object[]) k.attachment();
                        in.clear();
                        int n;
                        try {
                            n = c.read(in);
                        } catch (IOException e) {
                            n = -1;
                        }
                        if (n < 0) {
                            k.cancel();
                            c.close();
                            continue;
                        }
                        StringBuilder pending = (StringBuilder) state[1];
                        pending.append(new String(in.array(), 0, n, StandardCharsets.ISO_8859_1));
                        int end;
                        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
                            pending.delete(0, end + 4);
                            ByteBuffer out = ByteBuffer.wrap((byte[]) state[0]);
                            while (out.hasRemaining()) {
                                c.write(out);
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // A broken scrape connection only affects that connection.
            }
        }
    }

    @Override
    public void close() throws IOException {
        running = false;
        selector.wakeup();
        try {
            loop.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SelectionKey k : selector.keys()) {
            k.channel().close();
        }
        selector.close();
    }
}
