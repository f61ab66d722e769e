import java.sql.*;
import java.util.*;

/**
 * Drives MariaDB Connector/J: "read" runs each argument as a query and
 * prints its result sets in a stable form ("PS:" runs it as a prepared
 * statement, the parameters after "|", separated by ","); "writes" runs
 * each argument as a statement (text and prepared) and prints its SQLSTATE
 * and error code, then checks that the connection still answers; "meta"
 * walks the connection's catalog through DatabaseMetaData as database tools
 * (DBeaver) do: tables and views, columns, primary keys and indexes.
 */
public class MysqlProbe {
    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], pass = args[2], mode = args[3];
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", pass);
        try (Connection c = DriverManager.getConnection(url, p)) {
            String[] rest = Arrays.copyOfRange(args, 4, args.length);
            if (mode.equals("read")) {
                for (String q : rest) read(c, q);
            } else if (mode.equals("meta")) {
                meta(c);
            } else if (mode.equals("cancel")) {
                cancel(c, rest[0]);
            } else {
                for (String q : rest) write(c, q);
            }
        }
        System.out.println("done");
    }

    /** Prints what DatabaseMetaData says of the connection's catalog. */
    static void meta(Connection c) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        String cat = c.getCatalog();
        System.out.println("catalog " + cat);
        try (ResultSet r = md.getTables(cat, null, "%", new String[]{"TABLE", "VIEW"})) {
            while (r.next()) System.out.println("table " + r.getString("TABLE_NAME") + " " + r.getString("TABLE_TYPE"));
        }
        try (ResultSet r = md.getColumns(cat, null, "items", "%")) {
            while (r.next()) System.out.println("column " + r.getString("COLUMN_NAME") + " " + r.getString("TYPE_NAME") + " " + r.getInt("COLUMN_SIZE") + " " + r.getString("IS_NULLABLE"));
        }
        try (ResultSet r = md.getPrimaryKeys(cat, null, "items")) {
            while (r.next()) System.out.println("pk " + r.getString("COLUMN_NAME") + " " + r.getShort("KEY_SEQ"));
        }
        try (ResultSet r = md.getIndexInfo(cat, null, "items", false, false)) {
            while (r.next()) System.out.println("index " + r.getString("INDEX_NAME") + " " + r.getString("COLUMN_NAME") + " " + r.getBoolean("NON_UNIQUE"));
        }
    }

    /** Runs q and cancels it from another thread after a second. */
    static void cancel(Connection c, String q) throws Exception {
        Statement s = c.createStatement();
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(1000);
                s.cancel();
            } catch (Exception e) {
                System.out.println("cancel failed " + e);
            }
        });
        long start = System.nanoTime();
        t.start();
        try (ResultSet r = s.executeQuery(q)) {
            r.next();
            System.out.println("result " + r.getString(1));
        } catch (SQLException e) {
            System.out.println("error " + e.getSQLState() + " " + e.getErrorCode());
        }
        t.join();
        long ms = (System.nanoTime() - start) / 1000000;
        System.out.println(ms < 10000 ? "cancelled in time" : "too slow: " + ms + " ms");
        try (ResultSet r = c.createStatement().executeQuery("SELECT 1")) {
            r.next();
            System.out.println("alive " + r.getInt(1));
        }
    }

    static void read(Connection c, String q) {
        System.out.println("query " + q);
        try {
            if (q.startsWith("PS:")) {
                String[] parts = q.substring(3).split("\\|", 2);
                try (PreparedStatement ps = c.prepareStatement(parts[0])) {
                    if (parts.length > 1) {
                        String[] vals = parts[1].split(",");
                        for (int i = 0; i < vals.length; i++) ps.setString(i + 1, vals[i]);
                    }
                    boolean rs = ps.execute();
                    print(ps, rs);
                }
            } else {
                try (Statement s = c.createStatement()) {
                    print(s, s.execute(q));
                }
            }
        } catch (SQLException e) {
            System.out.println("error " + e.getSQLState() + " " + e.getErrorCode() + " " + e.getMessage().replaceAll("\\s+", " "));
        }
    }

    static void print(Statement s, boolean rs) throws SQLException {
        while (true) {
            if (rs) {
                try (ResultSet r = s.getResultSet()) {
                    ResultSetMetaData md = r.getMetaData();
                    StringBuilder h = new StringBuilder("columns");
                    for (int i = 1; i <= md.getColumnCount(); i++) h.append(" ").append(md.getColumnLabel(i)).append(":").append(md.getColumnTypeName(i));
                    System.out.println(h);
                    while (r.next()) {
                        StringBuilder b = new StringBuilder("row");
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            Object o = r.getObject(i);
                            b.append(" | ").append(show(o));
                        }
                        System.out.println(b);
                    }
                }
            } else {
                int n = s.getUpdateCount();
                if (n == -1) break;
                System.out.println("count " + n);
            }
            rs = s.getMoreResults();
        }
    }

    /** A value in a stable form; long values as their length and hash. */
    static String show(Object o) {
        if (o == null) return "NULL";
        String s;
        if (o instanceof byte[]) {
            byte[] b = (byte[]) o;
            s = "bytes:" + b.length + ":" + Arrays.hashCode(b);
        } else {
            s = o.getClass().getSimpleName() + ":" + o;
        }
        return s.length() > 200 ? "long:" + s.length() + ":" + s.hashCode() : s;
    }

    static void write(Connection c, String q) throws SQLException {
        for (String how : new String[]{"text", "prepared"}) {
            try {
                if (how.equals("text")) {
                    try (Statement s = c.createStatement()) { s.execute(q); }
                } else {
                    try (PreparedStatement ps = c.prepareStatement(q)) { ps.execute(); }
                }
                System.out.println("allowed " + how + " " + q);
            } catch (SQLException e) {
                System.out.println("error " + e.getSQLState() + " " + e.getErrorCode() + " " + how + " " + q);
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 1")) {
                r.next();
                System.out.println("alive " + r.getInt(1));
            }
        }
    }
}
