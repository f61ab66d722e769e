package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"airlock"
	"airlock/internal/api"

	"github.com/spf13/cobra"
)

// eventFilterFlags are the filters shared by list, tail and export.
type eventFilterFlags struct {
	user, database, session, kind, stmtKind, decision, rule, contains, since, until string
}

func (f *eventFilterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "only this user's events")
	fl.StringVar(&f.database, "database", "", "only this database")
	fl.StringVar(&f.session, "session", "", "only this session")
	fl.StringVar(&f.kind, "kind", "", "event type: session, statement, token, user, request, grant, alert, system")
	fl.StringVar(&f.stmtKind, "statement-kind", "", "statement kind: select, insert, update, delete, ddl...")
	fl.StringVar(&f.decision, "decision", "", "allowed or denied")
	fl.StringVar(&f.rule, "rule", "", "only denials and warnings of this rule")
	fl.StringVar(&f.contains, "contains", "", "statement text contains")
	fl.StringVar(&f.since, "since", "", "newer than a duration ago (90m) or an RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "older than a duration ago or an RFC 3339 time")
}

func (f *eventFilterFlags) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"user": f.user, "database": f.database, "session": f.session, "kind": f.kind,
		"statement_kind": f.stmtKind, "decision": f.decision, "rule": f.rule, "contains": f.contains, "since": f.since, "until": f.until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func eventRow(e *api.EventJSON) []string {
	what := e.Text
	if e.Type != airlock.EventStatement {
		what = e.Ref
		if e.Reason != "" {
			what += " " + e.Reason
		}
		for k, v := range e.Detail {
			what += " " + k + "=" + v
		}
	}
	if len(what) > 100 {
		what = what[:97] + "..."
	}
	decision := e.Decision
	if e.Rule != "" {
		decision += " (" + e.Rule + ")"
	}
	return []string{strconv.FormatInt(e.ID, 10), fmtTime(&e.Time), e.Type + "." + e.Action, e.User, e.Database, decision, strings.ReplaceAll(strings.TrimSpace(what), "\n", " ")}
}

func auditTailCmd(app *App) *cobra.Command {
	var f eventFilterFlags
	var from int64
	cmd := &cobra.Command{
		Use:   "tail [filters]",
		Short: "Follow audit events as they happen (Server-Sent Events)",
		Long: `Print audit events as they are recorded, until interrupted. It resumes
where it stopped when the connection drops. --from ID starts after an
event id instead of now. With --json, each event is one JSON line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			q := f.query()
			if from > 0 {
				q.Set("after_id", strconv.FormatInt(from, 10))
			}
			last := ""
			failures := 0
			for ctx.Err() == nil {
				err := followOnce(ctx, c, q, &last, func(ev *api.EventJSON, raw []byte) {
					if app.json {
						app.Stdout.Write(append(raw, '\n'))
					} else {
						fmt.Fprintln(app.Stdout, strings.Join(eventRow(ev), "  "))
					}
					if fl, ok := app.Stdout.(interface{ Sync() error }); ok {
						fl.Sync()
					}
				})
				if ctx.Err() != nil {
					return nil
				}
				var ae *APIError
				if asAPIError(err, &ae) && ae.Status < 500 {
					return err
				}
				failures++
				if failures > 1 {
					fmt.Fprintf(app.Stderr, "airlock: stream interrupted (%v); reconnecting\n", err)
				}
				select {
				case <-ctx.Done():
				case <-time.After(min(time.Duration(failures)*500*time.Millisecond, 5*time.Second)):
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Int64Var(&from, "from", 0, "start after this event id (default: now)")
	return cmd
}

func asAPIError(err error, target **APIError) bool {
	ae, ok := err.(*APIError)
	if ok {
		*target = ae
	}
	return ok
}

// followOnce reads one SSE connection until it ends.
func followOnce(ctx context.Context, c *Client, q url.Values, last *string, fn func(*api.EventJSON, []byte)) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+"/api/v1/audit/stream?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/event-stream")
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(b, &eb)
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: firstNonEmpty(eb.Error.Message, resp.Status)}
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var id string
	var data []byte
	for {
		// Lines of any length: an event's data line is as long as the
		// event.
		raw, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return err
		}
		line := string(raw)
		switch {
		case line == "":
			if data != nil {
				var ev api.EventJSON
				if err := json.Unmarshal(data, &ev); err == nil {
					fn(&ev, data)
				}
				if id != "" {
					*last = id
				}
			}
			id, data = "", nil
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:]...)
		}
	}
}

// readLine reads one line of any length, without its line ending.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (len(line) == 0 || err != io.EOF) {
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		return bytes.TrimSuffix(line, []byte("\r")), nil
	}
}

func auditExportCmd(app *App) *cobra.Command {
	var f eventFilterFlags
	cmd := &cobra.Command{
		Use:   "export [filters] > events.jsonl",
		Short: "Write audit events as JSON lines, oldest first, for any range",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(cmd.Context(), "GET", c.Base+"/api/v1/audit/export?"+f.query().Encode(), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+c.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("cannot reach the airlock server at %s: %w", c.Base, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
				var eb struct {
					Error struct{ Message string } `json:"error"`
				}
				json.Unmarshal(b, &eb)
				return fmt.Errorf("%s", firstNonEmpty(eb.Error.Message, resp.Status))
			}
			_, err = io.Copy(app.Stdout, resp.Body)
			return err
		},
	}
	f.register(cmd)
	return cmd
}
