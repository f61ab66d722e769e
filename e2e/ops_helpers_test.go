package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"airlock/internal/testenv"
)

// bothEngines returns the databases and policies YAML of database "app"
// on PostgreSQL db and "myapp" on MariaDB schema my, with the default
// users' standing levels on both.
func bothEngines(db *testenv.DB, my *testenv.MyDB) (dbs, pols string) {
	mine := strings.TrimPrefix(testenv.MyDatabases(my.Name, ""), "databases:\n")
	mine = strings.Replace(mine, "name: app", "name: myapp", 1)
	dbs = fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
%s`, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW, mine)
	pols = `policies:
  - {name: eng, groups: [eng], databases: [app, myapp], standing: read, requestable: [write], approvers: [sre], approvals: 1, max_duration: 4h}
  - {name: writers, groups: [writers], databases: [app, myapp], standing: write}
`
	return dbs, pols
}

// scrape fetches url (a /metrics endpoint) and returns each sample's value
// by its series as printed: name{label="v",...} with labels in the
// exposition's order (sorted by name).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
