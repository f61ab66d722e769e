package undo_test

import (
	"fmt"
	"testing"

	"airlock/internal/undo"
)

func TestMySQLParseRow(t *testing.T) {
	good := []struct {
		row  string
		want []undo.MyField
	}{
		{"`id`=1", []undo.MyField{{"id", "1"}}},
		{"`a`=-12.50, `b`=NULL, `c`='x, `d`=\\'y\\\\', `we``ird`=X'00FF'",
			[]undo.MyField{{"a", "-12.50"}, {"b", "NULL"}, {"c", `'x, ` + "`d`" + `=\'y\\'`}, {"we`ird", "X'00FF'"}}},
		{"`t`=FROM_UNIXTIME(1709267400.123456), `z`='0000-00-00 00:00:00', `g`=ST_GeomFromWKB(X'0101', 4326), `k`=_gbk X'C4E3', `b`=b'101'",
			[]undo.MyField{{"t", "FROM_UNIXTIME(1709267400.123456)"}, {"z", "'0000-00-00 00:00:00'"}, {"g", "ST_GeomFromWKB(X'0101', 4326)"}, {"k", "_gbk X'C4E3'"}, {"b", "b'101'"}}},
	}
	for _, g := range good {
		got, err := undo.ParseMyRow(g.row)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(g.want) {
			t.Errorf("%s: %q %v, want %q", g.row, got, err, g.want)
		}
	}
	for _, bad := range []string{
		"", "id=1", "`id`=", "`id`=1,`b`=2", "`id`=1, ", "`id`='open", "`id`=X'0'", "`id`=1; DROP TABLE t",
		"`id`=(SELECT 1)", "`id`=FROM_UNIXTIME(SLEEP(1))", "`id`=_x X'00' OR 1", "`id`=1 OR 1=1", "`id`=1.",
	} {
		if got, err := undo.ParseMyRow(bad); err == nil {
			t.Errorf("%q parsed as %q", bad, got)
		}
	}
}
