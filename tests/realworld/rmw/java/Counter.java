// Counter.java - the read-modify-write service of tests/realworld/rmw on the
// PostgreSQL JDBC driver: the same HTTP API and statements as
// tests/e2e/service/counterd.c, in a JVM (com.sun.net.httpserver, a thread
// pool, a small pool of JDBC connections).
//
//   java -cp postgresql.jar:DIR Counter --port N --uri postgresql://U:W@H:P/D
//        --mode naive|safe
//
// --uri is a scenario's ${dsn_uri}: JDBC's own URL does not read a user and
// password in its authority, so Jdbc.connect takes them out.
//
//   GET  /health                        200 ok
//   POST /take {"id":"acct-1","qty":1}  201 taken, 409 not enough stock,
//                                       404 unknown id, 400 bad request
//
// naive: SELECT the stock, then UPDATE it to the value computed here; safe:
// a transaction around a conditional UPDATE ... RETURNING.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class Counter {
    static final Pattern BODY =
        Pattern.compile("\\{\\s*\"id\"\\s*:\\s*\"([^\"]+)\"\\s*,\\s*\"qty\"\\s*:\\s*(\\d+)\\s*\\}");
    static BlockingQueue<Connection> pool;
    static boolean naive;

    static Map<String, String> args(String[] argv) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2)
            a.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        for (String k : new String[] {"port", "uri", "mode"})
            if (!a.containsKey(k)) {
                System.err.println("usage: Counter --port N --uri postgresql://... --mode naive|safe");
                System.exit(2);
            }
        return a;
    }

    static int takeNaive(Connection c, String id, int qty) throws SQLException {
        int stock;
        try (PreparedStatement s = c.prepareStatement("SELECT stock FROM counter WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next())
                    return 404;
                stock = r.getInt(1);
            }
        }
        if (stock < qty)
            return 409;
        try (PreparedStatement s = c.prepareStatement("UPDATE counter SET stock = ? WHERE id = ?")) {
            s.setInt(1, stock - qty);
            s.setString(2, id);
            s.executeUpdate();
        }
        try (PreparedStatement s = c.prepareStatement("INSERT INTO taken (id, qty) VALUES (?, ?)")) {
            s.setString(1, id);
            s.setInt(2, qty);
            s.executeUpdate();
        }
        return 201;
    }

    static int takeSafe(Connection c, String id, int qty) throws SQLException {
        c.setAutoCommit(false);
        try {
            try (PreparedStatement s = c.prepareStatement(
                     "UPDATE counter SET stock = stock - ? WHERE id = ? AND stock >= ? RETURNING stock")) {
                s.setInt(1, qty);
                s.setString(2, id);
                s.setInt(3, qty);
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next()) {
                        c.rollback();
                        return 409;
                    }
                }
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO taken (id, qty) VALUES (?, ?)")) {
                s.setString(1, id);
                s.setInt(2, qty);
                s.executeUpdate();
            }
            c.commit();
            return 201;
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    static void reply(HttpExchange x, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("content-type", "application/json");
        x.sendResponseHeaders(status, b.length);
        try (OutputStream o = x.getResponseBody()) {
            o.write(b);
        }
    }

    static void take(HttpExchange x) throws IOException {
        String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = BODY.matcher(body);
        if (!"POST".equals(x.getRequestMethod()) || !m.matches()) {
            reply(x, 400, "\"expected {\\\"id\\\":\\\"...\\\",\\\"qty\\\":N}\"");
            return;
        }
        Connection c = null;
        try {
            c = pool.poll(5, TimeUnit.SECONDS);
            if (c == null) {
                reply(x, 503, "\"no connection\"");
                return;
            }
            int qty = Integer.parseInt(m.group(2));
            int status = naive ? takeNaive(c, m.group(1), qty) : takeSafe(c, m.group(1), qty);
            reply(x, status, "{\"id\":\"" + m.group(1) + "\",\"qty\":" + qty + "}");
        } catch (SQLException e) {
            reply(x, 500, "{\"sqlstate\":\"" + e.getSQLState() + "\"}");
        } catch (InterruptedException e) {
            reply(x, 503, "\"interrupted\"");
        } finally {
            if (c != null)
                pool.offer(c);
        }
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = args(argv);
        naive = "naive".equals(a.get("mode"));
        int n = 8;
        pool = new ArrayBlockingQueue<>(n);
        for (int i = 0; i < n; i++)
            pool.add(Jdbc.connect(a.get("uri")));
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(a.get("port"))), 64);
        s.createContext("/health", x -> reply(x, 200, "\"ok\""));
        s.createContext("/take", Counter::take);
        s.setExecutor(Executors.newFixedThreadPool(n));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> s.stop(0)));
        s.start();
    }
}
