package io.epp4j.epp.endpoints;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;

import java.util.ArrayList;
import java.util.List;

/** Fills the endpoint store from a fixed {@code --endpoints} list; the pool counts as synced at once. */
public final class StaticEndpoints {

    private StaticEndpoints() {
    }

    /** Publishes the addresses as the whole pool and marks the store synced. */
    public static void publish(EndpointStore store, List<HostPort> addresses) {
        store.replaceAll(toInfos(addresses));
        store.setSynced(true);
    }

    static List<EndpointInfo> toInfos(List<HostPort> addresses) {
        List<EndpointInfo> infos = new ArrayList<>(addresses.size());
        for (HostPort a : addresses) {
            EndpointInfo info = EndpointInfo.ofAddress(a.ip(), a.port());
            if (infos.stream().noneMatch(i -> i.name().equals(info.name()))) {
                infos.add(info);
            }
        }
        return infos;
    }
}
