package io.epp4j.scorers.prefix;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EndpointIdsTest {

    @Test
    void idsAreDenseAndAFreedOneIsHandedOutAgain() {
        EndpointIds ids = new EndpointIds(Integer.MAX_VALUE);
        assertEquals(0, ids.add("a"));
        assertEquals(1, ids.add("b"));
        assertEquals(2, ids.add("c"));
        assertEquals(1, ids.remove("b"));
        assertEquals(-1, ids.idOf("b"));
        assertEquals(-1, ids.remove("b"), "removed once");
        assertEquals(1, ids.add("d"), "the freed id, before a new one");
        assertEquals(3, ids.add("e"));
        assertEquals(4, ids.bound());
        assertEquals(Set.of("a", "c", "d", "e"), ids.endpoints());
        assertEquals(2, ids.idOf("c"));
    }

    @Test
    void noIdBeyondTheMaximumUntilOneIsFreed() {
        EndpointIds ids = new EndpointIds(2);
        ids.add("a");
        ids.add("b");
        assertEquals(-1, ids.add("c"));
        assertEquals(-1, ids.idOf("c"));
        ids.remove("a");
        assertEquals(0, ids.add("c"));
        assertEquals(2, ids.bound());
    }
}
