package pgwire

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"airlock/internal/gateway"
	"airlock/internal/undo"
)

// Startup parameters (SPEC §3). Besides user, database, replication and
// options, every parameter of a StartupMessage is a run-time setting, as
// for PostgreSQL. Settings, whether given as parameters or in options
// (libpq's options, PGOPTIONS: "-c name=value" and "--name=value"), are
// decided once the session is known, through the same decision as the
// client's own set_config would get at the session's level; only what
// that decision refuses is refused, with a FATAL naming the setting and
// why, and the refusal is audited. Like PostgreSQL, a parameter given
// twice takes its last value, and a setting given as a parameter wins over
// the same one in options.

// protocolParams are startup parameters that are not settings.
var protocolParams = map[string]bool{"user": true, "database": true, "options": true, "replication": true}

// startupSetting is one setting of the startup packet.
type startupSetting struct {
	name, value string
	fromOptions bool
}

// parseStartupSettings returns the settings of a startup packet's parameters,
// names lower-cased and sorted, options expanded. It fails, with a FATAL
// for the client, on a replication connection and on options airlock
// does not understand.
func parseStartupSettings(params map[string]string) ([]startupSetting, error) {
	byName := map[string]startupSetting{}
	if r, ok := params["replication"]; ok {
		if b, ok := parseBool(r); !ok || b {
			return nil, fatal("42501", "airlock: replication connections are not allowed")
		}
	}
	if opts, ok := params["options"]; ok {
		list, err := parseOptions(opts)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			byName[s.name] = s
		}
	}
	for k, v := range params {
		lk := strings.ToLower(k)
		if protocolParams[lk] || strings.HasPrefix(lk, "_pq_.") {
			continue
		}
		byName[lk] = startupSetting{name: lk, value: v}
	}
	out := make([]startupSetting, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// parseOptions parses the options startup parameter as PostgreSQL does
// (pg_split_opts: words separated by white space, a backslash keeps the
// next character) into "-c name=value", "-cname=value" and "--name=value"
// settings; a later setting of the same name wins. Dashes in a name mean
// underscores. Other server switches (-B, -F, ...) are refused: they set
// server settings no session may change.
func parseOptions(s string) ([]startupSetting, error) {
	words := splitOptions(s)
	var out []startupSetting
	for i := 0; i < len(words); i++ {
		w := words[i]
		var nv string
		switch {
		case w == "-c":
			if i+1 == len(words) {
				return nil, fatal("42601", "airlock: startup options: -c needs name=value")
			}
			i++
			nv = words[i]
		case strings.HasPrefix(w, "-c"):
			nv = w[2:]
		case strings.HasPrefix(w, "--") && len(w) > 2:
			nv = w[2:]
		default:
			return nil, fatal("42501", "airlock: startup options: %q is not allowed; only -c name=value and --name=value settings are", w)
		}
		name, value, ok := strings.Cut(nv, "=")
		if !ok || name == "" {
			return nil, fatal("42601", "airlock: startup options: %q needs name=value", nv)
		}
		out = append(out, startupSetting{name: strings.ToLower(strings.ReplaceAll(name, "-", "_")), value: value, fromOptions: true})
	}
	return out, nil
}

// splitOptions splits like PostgreSQL's pg_split_opts.
func splitOptions(s string) []string {
	var words []string
	var cur strings.Builder
	in, esc := false, false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\':
			esc, in = true, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// parseBool parses a boolean as PostgreSQL does, for the replication
// parameter.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "1", "t", "y":
		return true, true
	case "off", "false", "no", "0", "f", "n", "of":
		return false, true
	}
	return false, false
}

// startupExempt are settings airlock itself replaces on the upstream
// connection, so the client's value is not decided: client_encoding is
// pinned to UTF8 (the ParameterStatus tells the client), application_name
// names the person upstream and is kept in the audit.
var startupExempt = map[string]bool{"client_encoding": true, "application_name": true}

// decideSettings decides each startup setting at the session's level, as
// the set_config that would make it. The first refused one is audited and
// ends the startup with a FATAL saying which setting and why.
func (c *conn) decideSettings(settings []startupSetting) error {
	for _, s := range settings {
		if startupExempt[s.name] {
			continue
		}
		text := "SELECT pg_catalog.set_config(" + undo.QuoteLiteral(s.name) + ", " + undo.QuoteLiteral(s.value) + ", false)"
		d := c.sess.Allows(text)
		if d.Allowed {
			continue
		}
		what := fmt.Sprintf("startup parameter %q", s.name)
		if s.fromOptions {
			what = fmt.Sprintf("setting %q in startup parameter \"options\"", s.name)
		}
		c.sess.Deny(fmt.Sprintf("startup: %s=%s", s.name, s.value), d)
		return fatal("42501", "airlock: %s is not allowed: %s", what, settingReason(d.Reason, s.name))
	}
	return nil
}

// startupSettings returns the session's startup settings once each has
// been decided; a refusal is audited and fails the startup.
func (c *conn) startupSettings(params map[string]string) ([]startupSetting, error) {
	settings, err := parseStartupSettings(params)
	if err != nil {
		var se *startupError
		if errors.As(err, &se) {
			c.sess.Deny("startup parameters", gateway.StartupRefused(strings.TrimPrefix(se.msg, "airlock: ")))
		}
		return nil, err
	}
	if err := c.decideSettings(settings); err != nil {
		return nil, err
	}
	return settings, nil
}

// settingReason words a decision's reason about the set_config standing
// for a startup setting as a reason about the setting.
func settingReason(reason, name string) string {
	for _, p := range []string{"set_config of " + name + " ", "SELECT "} {
		if rest, ok := strings.CutPrefix(reason, p); ok {
			return "it " + rest
		}
	}
	return reason
}
