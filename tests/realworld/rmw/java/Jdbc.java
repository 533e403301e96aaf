// Jdbc.java - a JDBC connection from a postgresql:// URI (a scenario's
// ${dsn_uri}): JDBC's URL is jdbc:postgresql://HOST:PORT/DB and takes the
// user and password as properties, so they are taken out of the URI here
// (percent-decoded by java.net.URI).  TLS off: the shim cannot see into it.
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

final class Jdbc {
    static Connection connect(String uri) throws SQLException {
        URI u = URI.create(uri);
        Properties p = new Properties();
        String info = u.getUserInfo();
        if (info != null) {
            int colon = info.indexOf(':');
            p.setProperty("user", colon < 0 ? info : info.substring(0, colon));
            if (colon >= 0)
                p.setProperty("password", info.substring(colon + 1));
        }
        p.setProperty("sslmode", "disable");
        String url = "jdbc:postgresql://" + u.getHost() + ":" + (u.getPort() < 0 ? 5432 : u.getPort())
                     + u.getPath();
        return DriverManager.getConnection(url, p);
    }
}
