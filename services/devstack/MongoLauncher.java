import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/** Runs mongo-java-server on a loopback port: memory backend, or H2 when a file is given. */
public class MongoLauncher {
    /** pymongo 4.14+ refuses servers below wire version 9, which mongo-java-server 1.46 reports by default. */
    static final MongoVersion ADVERTISED = new MongoVersion() {
        public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
        public int getWireVersion() { return 9; }
    };

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String file = args.length > 2 ? args[2] : "";
        MongoServer server = new MongoServer((file.isEmpty() ? new MemoryBackend() : new H2Backend(file)).version(ADVERTISED));
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
        server.bind(host, port);
        System.out.println("ready " + host + ":" + port);
        Thread.currentThread().join();
    }
}
