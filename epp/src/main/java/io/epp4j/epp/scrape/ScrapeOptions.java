package io.epp4j.epp.scrape;

import java.time.Duration;

/**
 * The EPP flags model-server scraping reads, as plain values (GAIE's flag names in the parameter docs).
 *
 * @param refreshInterval {@code --refresh-metrics-interval}: how often each endpoint is scraped
 * @param poolRefreshInterval {@code --refresh-prometheus-metrics-interval}: how often the pool gauges refresh
 * @param stalenessThreshold {@code --metrics-staleness-threshold}
 * @param poolName {@code --pool-name} ("" in standalone mode: the gauges then name the EPP's Deployment)
 * @param scheme deprecated {@code --model-server-metrics-scheme} when given, else null
 * @param path deprecated {@code --model-server-metrics-path} when given, else null
 * @param insecureSkipVerify deprecated {@code --model-server-metrics-https-insecure-skip-verify} when given, else
 *     null
 * @param portGiven whether the deprecated, unsupported {@code --model-server-metrics-port} was given
 */
public record ScrapeOptions(Duration refreshInterval, Duration poolRefreshInterval, Duration stalenessThreshold,
                            String poolName, String scheme, String path, Boolean insecureSkipVerify,
                            boolean portGiven) {
}
