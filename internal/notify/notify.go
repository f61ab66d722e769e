// Package notify delivers audit events to webhooks: Slack-compatible
// incoming-webhook JSON (format slack) or the event itself (format json),
// filtered by event name patterns ("request.*", "grant.started", "*").
// Delivery retries with backoff; a webhook that keeps failing is logged and
// audited, and never blocks anything: events reach the notifier only after
// they are durable, through a subscription of their own.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/config"
)

// FailedAction is the action of the audit event recorded when a delivery
// gives up; such events are never delivered themselves.
const FailedAction = "webhook_failed"

// Options configure the notifier.
type Options struct {
	Webhooks []config.Webhook
	Audit    *audit.Log
	Logger   *slog.Logger
	// BaseURL is the web console's address, for links in messages.
	BaseURL string
	// Retries and Backoff bound delivery attempts; defaults 5 and 500ms
	// (doubling).
	Retries int
	Backoff time.Duration
	Client  *http.Client
}

// Notifier delivers events.
type Notifier struct {
	o     Options
	hooks []*hook
	sub   *audit.Subscription
	wg    sync.WaitGroup
	quit  chan struct{}
}

type hook struct {
	cfg   config.Webhook
	queue chan *airlock.Event
}

// Start subscribes to the audit log and starts one delivery worker per
// webhook. With no webhooks it does nothing.
func Start(o Options) *Notifier {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Second}
	}
	n := &Notifier{o: o, quit: make(chan struct{})}
	for _, w := range o.Webhooks {
		n.hooks = append(n.hooks, &hook{cfg: w, queue: make(chan *airlock.Event, 1024)})
	}
	if len(n.hooks) == 0 {
		return n
	}
	n.sub = o.Audit.Subscribe(8192, n.wanted)
	n.wg.Add(1)
	go n.dispatch()
	for _, h := range n.hooks {
		n.wg.Add(1)
		go n.deliverLoop(h)
	}
	return n
}

// Close stops delivery, waiting at most until ctx is done.
func (n *Notifier) Close(ctx context.Context) {
	if len(n.hooks) == 0 {
		return
	}
	close(n.quit)
	n.sub.Close()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Name is the notification name of an event: "type.action".
func Name(ev *airlock.Event) string { return ev.Type + "." + ev.Action }

func (n *Notifier) wanted(ev *airlock.Event) bool {
	if ev.Action == FailedAction {
		return false
	}
	for _, h := range n.hooks {
		if h.matches(ev) {
			return true
		}
	}
	return false
}

func (h *hook) matches(ev *airlock.Event) bool {
	if len(h.cfg.Events) == 0 {
		return ev.Type != airlock.EventStatement && ev.Type != airlock.EventSession
	}
	name := Name(ev)
	for _, p := range h.cfg.Events {
		if ok, _ := path.Match(p, name); ok || p == "*" {
			return true
		}
	}
	return false
}

func (n *Notifier) dispatch() {
	defer n.wg.Done()
	for {
		select {
		case ev, ok := <-n.sub.C:
			if !ok {
				select {
				case <-n.quit:
					for _, h := range n.hooks {
						close(h.queue)
					}
					return
				default:
				}
				// Dropped for lagging: say so and listen again.
				n.o.Logger.Warn("webhook notifications fell behind; some events were not delivered")
				n.sub = n.o.Audit.Subscribe(8192, n.wanted)
				continue
			}
			for _, h := range n.hooks {
				if !h.matches(ev) {
					continue
				}
				select {
				case h.queue <- ev:
				default:
					n.o.Logger.Warn("webhook queue full; event not delivered", "url", redactURL(h.cfg.URL), "event", Name(ev))
				}
			}
		case <-n.quit:
			for _, h := range n.hooks {
				close(h.queue)
			}
			return
		}
	}
}

func (n *Notifier) deliverLoop(h *hook) {
	defer n.wg.Done()
	for ev := range h.queue {
		n.deliver(h, ev)
	}
}

func (n *Notifier) deliver(h *hook, ev *airlock.Event) {
	body, err := n.payload(h.cfg.Format, ev)
	if err != nil {
		n.o.Logger.Error("encode webhook payload", "err", err)
		return
	}
	wait := n.o.Backoff
	var last error
	for attempt := 1; attempt <= n.o.Retries; attempt++ {
		if last = post(n.o.Client, h.cfg.URL, body); last == nil {
			return
		}
		if attempt == n.o.Retries {
			break
		}
		select {
		case <-time.After(wait):
		case <-n.quit:
			return
		}
		wait *= 2
	}
	n.o.Logger.Warn("webhook delivery failed", "url", redactURL(h.cfg.URL), "event", Name(ev), "attempts", n.o.Retries, "err", last)
	n.o.Audit.Append(&airlock.Event{Type: airlock.EventSystem, Action: FailedAction, Ref: ev.Ref,
		Detail: map[string]string{"url": redactURL(h.cfg.URL), "event": Name(ev), "event_id": fmt.Sprint(ev.ID), "error": last.Error()}})
}

func post(c *http.Client, url string, body []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// redactURL keeps a webhook URL's scheme, host and path's start: webhook
// paths often carry secrets.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return u[:i+3+j] + "/…"
		}
	}
	return u
}

// payload encodes ev for a webhook format.
func (n *Notifier) payload(format string, ev *airlock.Event) ([]byte, error) {
	if format == "slack" {
		text := Summary(ev)
		if link := n.link(ev); link != "" {
			text += " <" + link + "|open>"
		}
		return json.Marshal(map[string]any{
			"text": text,
			"blocks": []any{map[string]any{
				"type": "section",
				"text": map[string]any{"type": "mrkdwn", "text": text},
			}},
		})
	}
	return json.Marshal(struct {
		Name string `json:"event"`
		*airlock.Event
		Link string `json:"link,omitempty"`
	}{Name(ev), ev, n.link(ev)})
}

func (n *Notifier) link(ev *airlock.Event) string {
	if n.o.BaseURL == "" || ev.Ref == "" {
		return ""
	}
	switch ev.Type {
	case airlock.EventRequest:
		return strings.TrimRight(n.o.BaseURL, "/") + "/requests/" + ev.Ref
	}
	return ""
}

// Summary is a one-line human description of an event.
func Summary(ev *airlock.Event) string {
	d := ev.Detail
	switch Name(ev) {
	case "request.created":
		if d["dry_run"] != "" {
			return fmt.Sprintf("%s asks to run a change script (%s) on %s: %q; its dry-run: %s (request %s; review it with `airlock requests show %s`)",
				ev.User, d["level"], ev.Database, d["reason"], d["dry_run"], ev.Ref, ev.Ref)
		}
		s := fmt.Sprintf("%s requests %s access to %s for %s: %q (request %s; approve with `airlock requests approve %s`)",
			ev.User, d["level"], ev.Database, d["duration"], d["reason"], ev.Ref, ev.Ref)
		if d["tables"] != "" {
			s = strings.Replace(s, " for ", " on tables "+d["tables"]+" for ", 1)
		}
		return s
	case "request.approval":
		return fmt.Sprintf("%s approved request %s of %s (%s approvals)", ev.Actor, ev.Ref, ev.User, d["approvals"])
	case "request.returned":
		return fmt.Sprintf("request %s of %s is back to review: %s", ev.Ref, ev.User, d["decision_reason"])
	case "request.approved":
		if d["run"] != "" {
			return fmt.Sprintf("%s approved request %s: the change script of %s ran on %s (%s)", ev.Actor, ev.Ref, ev.User, ev.Database, d["run"])
		}
		return fmt.Sprintf("%s approved request %s: %s gets %s access to %s for %s", ev.Actor, ev.Ref, ev.User, d["level"], ev.Database, d["duration"])
	case "request.denied":
		return fmt.Sprintf("%s denied request %s of %s: %s", ev.Actor, ev.Ref, ev.User, d["decision_reason"])
	case "request.cancelled":
		return fmt.Sprintf("%s cancelled request %s", ev.Actor, ev.Ref)
	case "request.expired":
		return fmt.Sprintf("request %s of %s expired without a decision", ev.Ref, ev.User)
	case "grant.started":
		return fmt.Sprintf("%s has %s access to %s until %s (grant %s)", ev.User, d["level"], ev.Database, d["expires_at"], ev.Ref)
	case "grant.ended":
		return fmt.Sprintf("%s's %s access to %s ended (grant %s)", ev.User, d["level"], ev.Database, ev.Ref)
	case "grant.revoked":
		return fmt.Sprintf("%s revoked %s's %s access to %s (grant %s)", ev.Actor, ev.User, d["level"], ev.Database, ev.Ref)
	}
	if ev.Type == airlock.EventAlert {
		return fmt.Sprintf("alert %s: %s", ev.Rule, ev.Reason)
	}
	s := Name(ev)
	if ev.User != "" {
		s += " user=" + ev.User
	}
	if ev.Detail["on_behalf_of"] != "" {
		s += " on_behalf_of=" + ev.Detail["on_behalf_of"]
	}
	if ev.Database != "" {
		s += " database=" + ev.Database
	}
	if ev.Text != "" {
		s += ": " + ev.Text
	}
	return s
}
