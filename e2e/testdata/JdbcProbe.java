import java.sql.*;
import java.util.*;

/** Reads and tries writes through JDBC; prints results in a stable form. */
public class JdbcProbe {
    static String notifyURL;

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], pass = args[2], mode = args[3];
        notifyURL = System.getenv("NOTIFY_URL");
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", pass);
        p.setProperty("prepareThreshold", "1"); // server-side prepared statements at once
        try (Connection c = DriverManager.getConnection(url, p)) {
            if (mode.equals("read")) {
                read(c);
            } else {
                writes(c, Arrays.copyOfRange(args, 4, args.length));
            }
        }
        System.out.println("done");
    }

    static void read(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT id, name, price, tags, created, note FROM items ORDER BY id")) {
            while (r.next()) {
                System.out.println("row " + r.getInt(1) + " " + r.getString(2) + " " + r.getBigDecimal(3) + " " + r.getString(4) + " " + r.getString(5) + " " + r.getString(6));
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT name FROM items WHERE id = ? AND price > ?")) {
            for (int i = 1; i <= 3; i++) {
                ps.setInt(1, i);
                ps.setBigDecimal(2, new java.math.BigDecimal("0.5"));
                try (ResultSet r = ps.executeQuery()) {
                    while (r.next()) System.out.println("param " + i + " " + r.getString(1));
                }
            }
        }
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.setFetchSize(2); // a portal fetched in pieces
            try (ResultSet r = s.executeQuery("SELECT id FROM items ORDER BY id")) {
                StringBuilder sb = new StringBuilder("fetch");
                while (r.next()) sb.append(" ").append(r.getInt(1));
                System.out.println(sb);
            }
        }
        c.commit();
        c.setAutoCommit(true);
        org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
        java.io.StringWriter out = new java.io.StringWriter();
        try {
            pg.getCopyAPI().copyOut("COPY (SELECT id, name FROM items ORDER BY id) TO STDOUT", out);
        } catch (java.io.IOException e) {
            throw new SQLException(e);
        }
        System.out.print("copy\n" + out);
        try (Statement s = c.createStatement()) {
            s.execute("LISTEN jdbc_channel");
        }
        if (notifyURL != null) {
            try (Connection n = DriverManager.getConnection(notifyURL, "postgres", "");
                 Statement s = n.createStatement()) {
                s.execute("NOTIFY jdbc_channel, 'from jdbc'");
            }
            org.postgresql.PGNotification[] got = null;
            for (int i = 0; i < 50 && (got == null || got.length == 0); i++) {
                got = pg.getNotifications(100);
            }
            System.out.println("notify " + (got == null || got.length == 0 ? "none" : got[0].getName() + " " + got[0].getParameter()));
        }
        DatabaseMetaData md = c.getMetaData();
        try (ResultSet r = md.getTables(null, "public", "%", new String[]{"TABLE"})) {
            while (r.next()) System.out.println("table " + r.getString("TABLE_NAME"));
        }
        try (ResultSet r = md.getColumns(null, "public", "items", "%")) {
            while (r.next()) System.out.println("column " + r.getString("COLUMN_NAME") + " " + r.getString("TYPE_NAME"));
        }
    }

    static void writes(Connection c, String[] stmts) throws SQLException {
        for (String sql : stmts) {
            boolean txn = sql.startsWith("TXN:");
            if (txn) sql = sql.substring(4);
            try {
                if (txn) c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.execute();
                }
                System.out.println("allowed " + sql);
            } catch (SQLException e) {
                System.out.println("error " + e.getSQLState() + " " + sql);
            }
            if (txn) {
                c.rollback();
                c.setAutoCommit(true);
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 1")) {
                r.next();
                System.out.println("alive " + r.getInt(1));
            }
        }
    }
}
