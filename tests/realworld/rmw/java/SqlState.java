// SqlState.java URI TABLE inject|none - the PostgreSQL JDBC
// driver meets `fail sqlstate 40001 on pq.query where sql ~ "^UPDATE"` (in
// WEDGE_RULES): the UPDATE throws the driver's own PSQLException with
// getSQLState() "40001", the row is unchanged and the connection runs the
// next statement.  Without the rule the UPDATE commits.
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class SqlState {
    public static void main(String[] a) throws Exception {
        String t = a[1], state = null;
        int v;
        try (Connection c = Jdbc.connect(a[0])) {
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS " + t);
                s.execute("CREATE TABLE " + t + " (id int PRIMARY KEY, v int NOT NULL)");
                s.execute("INSERT INTO " + t + " VALUES (1, 0)");
            }
            try (PreparedStatement s = c.prepareStatement("UPDATE " + t + " SET v = v + ? WHERE id = 1")) {
                s.setInt(1, 1);
                s.executeUpdate();
            } catch (SQLException e) {
                state = e.getSQLState();
                System.out.println("UPDATE: " + e.getClass().getName() + " SQLState " + state + ": "
                                   + e.getMessage());
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT v FROM " + t + " WHERE id = 1")) {
                r.next();
                v = r.getInt(1);
            }
        }
        System.out.println("after: v = " + v + "; the connection answered the next statement");
        boolean ok = "inject".equals(a[2]) ? "40001".equals(state) && v == 0 : state == null && v == 1;
        System.exit(ok ? 0 : 1);
    }
}
