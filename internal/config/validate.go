package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"airlock"
)

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p) }

func alertTypeNames() []string { return AlertTypes }

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// HourRange parses Hours ("08:00-19:00") into minutes after midnight.
func (a *Alert) HourRange() (from, to int, err error) {
	if a.Hours == "" {
		return 0, 0, fmt.Errorf("outside_hours needs hours, e.g. \"08:00-19:00\"")
	}
	f, t, ok := strings.Cut(a.Hours, "-")
	if !ok {
		return 0, 0, fmt.Errorf("want hours as HH:MM-HH:MM, got %q", a.Hours)
	}
	parse := func(s string) (int, error) {
		tm, err := time.Parse("15:04", strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("want hours as HH:MM-HH:MM, got %q", a.Hours)
		}
		return tm.Hour()*60 + tm.Minute(), nil
	}
	if from, err = parse(f); err != nil {
		return
	}
	to, err = parse(t)
	return
}

// Working reports whether t falls inside the alert's hours and days.
func (a *Alert) Working(t time.Time) bool {
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil {
		loc = time.UTC
	}
	t = t.In(loc)
	days := a.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	day := false
	for _, d := range days {
		day = day || weekdays[strings.ToLower(d)] == t.Weekday()
	}
	from, to, _ := a.HourRange()
	m := t.Hour()*60 + t.Minute()
	if from <= to {
		return day && m >= from && m < to
	}
	return day && (m >= from || m < to) // a range across midnight
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// validate checks values and cross-references, resolving credentials.
func (c *Config) validate(d *decoder, secrets bool) {
	at := func(line int, path, format string, args ...any) {
		if l := d.lineOf(path); l > 1 || line == 0 {
			line = l
		}
		d.errs = append(d.errs, &fieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	checkAddr := func(path, addr string) {
		if addr == "" {
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			at(0, path, "want host:port, got %q", addr)
		}
	}
	checkAddr("listen.postgres", c.Listen.Postgres.Address)
	checkAddr("listen.mysql", c.Listen.MySQL.Address)
	checkAddr("listen.http", c.Listen.HTTP)
	for _, a := range []struct{ p, v string }{{"listen.postgres.auth", c.Listen.Postgres.Auth}, {"listen.mysql.auth", c.Listen.MySQL.Auth}} {
		if a.v != "scram" && a.v != "cleartext" {
			at(0, a.p, "want scram or cleartext, got %q", a.v)
		}
	}
	if c.TLS != nil {
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			at(0, "tls", "both cert_file and key_file are needed")
		}
		c.TLS.CertFile, c.TLS.KeyFile = c.Rel(c.TLS.CertFile), c.Rel(c.TLS.KeyFile)
	}
	if c.PostgresStore() {
		// The URL is parsed when the store opens; it may hold a password,
		// which an error here would repeat.
	} else if !strings.HasPrefix(c.Store, "sqlite:") {
		at(0, "store", "the store is sqlite:PATH or postgres://USER@HOST/DB")
	} else if c.StorePath() == c.Dir() || strings.TrimPrefix(c.Store, "sqlite:") == "" {
		at(0, "store", "sqlite: needs a file path")
	}
	if c.Tokens.DefaultTTL > c.Tokens.MaxTTL {
		at(0, "tokens.default_ttl", "%s is longer than max_ttl %s", c.Tokens.DefaultTTL.D(), c.Tokens.MaxTTL.D())
	}

	users := map[string]bool{}
	for i, u := range c.Users {
		p := fmt.Sprintf("users[%d]", i)
		if !nameRE.MatchString(u.Name) {
			at(u.Line, p+".name", "want a name of letters, digits, _ . - (up to 63), got %q", u.Name)
		}
		if users[u.Name] {
			at(u.Line, p+".name", "user %q is declared twice", u.Name)
		}
		users[u.Name] = true
		for _, r := range u.Roles {
			if r != airlock.RoleAdmin && r != airlock.RoleApprover {
				at(u.Line, p+".roles", "unknown role %q (want admin or approver)", r)
			}
		}
	}

	c.validateAgents(at)

	dbs := map[string]*Database{}
	for i := range c.Databases {
		db := &c.Databases[i]
		p := fmt.Sprintf("databases[%d]", i)
		if !nameRE.MatchString(db.Name) {
			at(db.Line, p+".name", "want a name of letters, digits, _ . - (up to 63), got %q", db.Name)
		}
		if dbs[db.Name] != nil {
			at(db.Line, p+".name", "database %q is declared twice", db.Name)
		}
		dbs[db.Name] = db
		if !db.Engine.Valid() {
			at(db.Line, p+".engine", "want postgres or mysql, got %q", db.Engine)
		}
		if _, _, err := net.SplitHostPort(db.Address); err != nil {
			at(db.Line, p+".address", "want host:port, got %q", db.Address)
		}
		if !slices.Contains([]string{"disable", "prefer", "require", "verify-full"}, db.TLSMode) {
			at(db.Line, p+".tls", "want disable, prefer, require or verify-full, got %q", db.TLSMode)
		}
		if !db.Undo.Valid() {
			at(db.Line, p+".undo", "want required, best_effort or off, got %q", db.Undo)
		}
		if db.MaxRowsChanged < 0 {
			at(db.Line, p+".max_rows_changed", "must not be negative")
		}
		if db.UnboundedWriteMaxRows < 0 {
			at(db.Line, p+".unbounded_write_max_rows", "must not be negative")
		}
		if db.SoftDrop != nil && db.SoftDrop.Retention <= 0 {
			at(db.Line, p+".soft_drop.retention", "set how long dropped tables are kept, e.g. 72h")
		}

		for _, r := range db.Guardrails.Disable {
			if !slices.Contains(BuiltinRules, r) {
				at(db.Line, p+".guardrails.disable", "unknown built-in rule %q (known: %s)", r, strings.Join(BuiltinRules, ", "))
			}
		}
		for j, t := range db.ProtectedTables {
			if !strings.Contains(t, ".") {
				at(db.Line, fmt.Sprintf("%s.protected_tables[%d]", p, j), "write the table schema-qualified, e.g. public.%s", t)
			}
		}
		db.Credentials = map[airlock.Level]Credential{}
		if len(db.RawCreds) == 0 {
			at(db.Line, p+".credentials", "at least the read credential is needed")
		}
		for lvl, cred := range db.RawCreds {
			cp := p + ".credentials." + lvl
			l, err := airlock.ParseLevel(lvl)
			if err != nil || l == airlock.LevelNone {
				at(db.Line, cp, "unknown level %q (want read, write, ddl or admin)", lvl)
				continue
			}
			if cred.User == "" {
				at(db.Line, cp+".user", "missing")
			}
			n := 0
			for _, s := range []string{cred.Password, cred.PasswordEnv, cred.PasswordFile} {
				if s != "" {
					n++
				}
			}
			if n > 1 {
				at(db.Line, cp, "set only one of password, password_env, password_file")
			}
			switch {
			case !secrets:
			case cred.PasswordEnv != "":
				v, ok := os.LookupEnv(cred.PasswordEnv)
				if !ok {
					at(db.Line, cp+".password_env", "environment variable %s is not set", cred.PasswordEnv)
				}
				cred.Password = v
			case cred.PasswordFile != "":
				b, err := os.ReadFile(c.Rel(cred.PasswordFile))
				if err != nil {
					at(db.Line, cp+".password_file", "%v", err)
				}
				cred.Password = strings.TrimRight(string(b), "\r\n")
			}
			db.Credentials[l] = cred
		}
	}

	for i := range c.Policies {
		pol := &c.Policies[i]
		p := fmt.Sprintf("policies[%d]", i)
		if pol.Name == "" {
			at(pol.Line, p+".name", "missing")
		}
		if len(pol.Groups) == 0 {
			at(pol.Line, p+".groups", "name at least one group")
		}
		if len(pol.Databases) == 0 {
			at(pol.Line, p+".databases", "name at least one database")
		}
		for _, name := range pol.Databases {
			if dbs[name] == nil && name != "*" {
				at(pol.Line, p+".databases", "unknown database %q", name)
			}
		}
		if pol.Standing == airlock.LevelAdmin {
			at(pol.Line, p+".standing", "admin is never a standing level; make it requestable")
		}
		for _, l := range pol.Requestable {
			if l <= pol.Standing {
				at(pol.Line, p+".requestable", "%s is not above the standing level %s", l, pol.Standing)
			}
		}
		if len(pol.Requestable) > 0 && len(pol.Approvers) == 0 {
			at(pol.Line, p+".approvers", "requestable levels need approver groups")
		}
		if pol.Approvals < 1 {
			at(pol.Line, p+".approvals", "must be at least 1")
		}
	}

	rules := map[string]bool{}
	for _, r := range BuiltinRules {
		rules[r] = true
	}
	for i, g := range c.Guardrails {
		p := fmt.Sprintf("guardrails[%d]", i)
		if !nameRE.MatchString(g.Name) {
			at(g.Line, p+".name", "want a name of letters, digits, _ . -, got %q", g.Name)
		}
		if rules[g.Name] {
			at(g.Line, p+".name", "rule %q is already defined", g.Name)
		}
		rules[g.Name] = true
		for _, name := range g.Databases {
			if dbs[name] == nil {
				at(g.Line, p+".databases", "unknown database %q", name)
			}
		}
		if strings.TrimSpace(g.When) == "" {
			at(g.Line, p+".when", "missing CEL expression")
		}
		if g.Action != airlock.GuardrailDeny && g.Action != airlock.GuardrailWarn {
			at(g.Line, p+".action", "want deny or warn, got %q", g.Action)
		}
	}

	for i, w := range c.Notifications.Webhooks {
		p := fmt.Sprintf("notifications.webhooks[%d]", i)
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			at(w.Line, p+".url", "want an http(s) URL, got %q", w.URL)
		}
		if w.Format != "slack" && w.Format != "json" {
			at(w.Line, p+".format", "want slack or json, got %q", w.Format)
		}
	}
	alertNames := map[string]bool{}
	for i := range c.Alerts {
		al := &c.Alerts[i]
		p := fmt.Sprintf("alerts[%d]", i)
		if al.Name == "" {
			al.Name = al.Type
		}
		if alertNames[al.Name] {
			at(al.Line, p+".name", "alert %q is declared twice", al.Name)
		}
		alertNames[al.Name] = true
		for _, name := range al.Databases {
			if dbs[name] == nil {
				at(al.Line, p+".databases", "unknown database %q", name)
			}
		}
		switch al.Type {
		case "denials":
			if al.Count < 1 || al.Window == 0 {
				at(al.Line, p, "denials needs count (at least 1) and window")
			}
		case "rows_read":
			if al.Count < 1 {
				at(al.Line, p+".count", "rows_read needs a count of at least 1")
			}
		case "outside_hours":
			if _, _, err := al.HourRange(); err != nil {
				at(al.Line, p+".hours", "%v", err)
			}
			if _, err := time.LoadLocation(al.Timezone); err != nil {
				at(al.Line, p+".timezone", "unknown time zone %q", al.Timezone)
			}
			for _, d := range al.Days {
				if _, ok := weekdays[strings.ToLower(d)]; !ok {
					at(al.Line, p+".days", "unknown day %q (want mon, tue, wed, thu, fri, sat, sun)", d)
				}
			}
		case "agent_denials":
			if al.Count < 1 {
				at(al.Line, p+".count", "agent_denials needs a count of at least 1")
			}
		case "agent_enumeration":
			if al.Count < 1 || al.Window == 0 {
				at(al.Line, p, "agent_enumeration needs count (at least 1) and window")
			}
		case "first_table_access", "new_client_address":
		default:
			at(al.Line, p+".type", "want one of %s, got %q", strings.Join(alertTypeNames(), ", "), al.Type)
		}
	}
	if c.Notifications.Retries < 0 || c.Notifications.Retries > 20 {
		at(0, "notifications.retries", "must be between 1 and 20")
	}
	if c.Audit.QueueSize < 1 {
		at(0, "audit.queue_size", "must be at least 1")
	}
	c.Audit.File = c.Rel(c.Audit.File)
	c.Audit.HMACKeyFile = c.Rel(c.Audit.HMACKeyFile)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		at(0, "log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		at(0, "log.format", "want text or json, got %q", c.Log.Format)
	}
	c.validateOIDC(at, secrets)
	c.validateLimits(at)
}
