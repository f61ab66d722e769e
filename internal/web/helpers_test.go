package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgconn"
)

// Bounds: a whole browser lives at most browserLife; one step (a
// navigation, a click and the page it loads, a wait) at most stepTimeout.
const (
	browserLife = 4 * time.Minute
	stepTimeout = 20 * time.Second
)

// chromiumPath is Debian's chromium, or $AIRLOCK_CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("AIRLOCK_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// browser starts a headless Chromium with a fresh profile for the test.
// A missing Chromium fails the test: CI installs it (scripts/setup.sh).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		t.Fatalf("chromium not found at %s (install Debian's chromium package, as scripts/setup.sh does, or set AIRLOCK_CHROMIUM): %v", path, err)
	}
	profile, err := os.MkdirTemp("", "airlock-web-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 860),
	)
	life, cancelLife := context.WithTimeout(context.Background(), browserLife)
	actx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		chromedp.Cancel(bctx)
		cancelBrowser()
		cancelAlloc()
		cancelLife()
		os.RemoveAll(profile)
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// tab opens a tab with its own cookie jar (a browser context), as a
// separate person's browser would have.
func tab(t *testing.T, b context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	// A script error or a Content-Security-Policy violation on any page
	// fails the test.
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m.Text))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return ctx
}

// pageText describes the page for a failure message.
func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
	if err != nil {
		return "(page unavailable: " + err.Error() + ")"
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return s
}

// do runs steps in a tab within stepTimeout.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %v\npage: %s", err, pageText(ctx))
	}
}

// run runs one action that returns a value within stepTimeout.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %v\npage: %s", err, pageText(ctx))
	}
	return v
}

// open navigates to path and returns the HTTP status of the page.
func open(t *testing.T, ctx context.Context, base, path string) int64 {
	t.Helper()
	resp := run(t, ctx, chromedp.NavigateResponse(base+path))
	return resp.Status
}

// submit clicks a button that submits a form and waits for the page it
// leads to; it returns that page's HTTP status.
func submit(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(c, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("submit %s: %v\npage: %s", sel, err, pageText(ctx))
	}
	return resp.Status
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return run(t, ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
}

// exists reports whether the page has an element matching sel now.
func exists(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
}

// login signs in through the form and checks who the console says we are.
func login(t *testing.T, ctx context.Context, base, user, token string) {
	t.Helper()
	if st := open(t, ctx, base, "/login"); st != http.StatusOK {
		t.Fatalf("login page: status %d", st)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#token"), token, chromedp.NodeVisible))
	if st := submit(t, ctx, "#signin"); st != http.StatusOK {
		t.Fatalf("sign in as %s: status %d\n%s", user, st, pageText(ctx))
	}
	if got := text(t, ctx, "#me"); got != user {
		t.Fatalf("signed in as %q, want %q", got, user)
	}
}

// postForm posts a form from the page with fetch (as a hand-made form
// would be posted) and returns the HTTP status. fields are name=value
// pairs; the CSRF token is not added.
func postForm(t *testing.T, ctx context.Context, path string, fields map[string]string) int64 {
	t.Helper()
	var parts []string
	for k, v := range fields {
		parts = append(parts, fmt.Sprintf("%q: %q", k, v))
	}
	js := fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams({%s}), redirect: "manual", credentials: "same-origin"}).then(r => r.status)`,
		path, strings.Join(parts, ", "))
	return run(t, ctx, chromedp.Evaluate[int64](js, chromedp.EvalAwaitPromise))
}

// pageCSRF reads the page's CSRF token from a form (as a script on the
// page could).
func pageCSRF(t *testing.T, ctx context.Context) string {
	t.Helper()
	v := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("input[name=csrf]").value`))
	if len(v) < 20 {
		t.Fatalf("no CSRF token on the page: %q", v)
	}
	return v
}

// screenshots says whether this run regenerates docs/screenshots.
func screenshots() bool { return os.Getenv("AIRLOCK_SCREENSHOTS") == "1" }

// shot writes a screenshot of the tab's viewport to
// docs/screenshots/NAME.png when AIRLOCK_SCREENSHOTS=1.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !screenshots() {
		return
	}
	// Let fonts and the live stream settle, then capture.
	do(t, ctx, chromedp.Sleep(300*time.Millisecond), chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	png := run(t, ctx, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s.png (%d bytes)", name, len(png))
}

// phone makes the tab a phone-sized viewport (390×844, touch, mobile).
func phone(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
}

// desktop undoes phone.
func desktop(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.EmulateViewport(1280, 860))
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// env is a running airlock in front of a fresh database with an items
// table.
func env(t *testing.T, extra string) (*testenv.Airlock, *testenv.DB) {
	t.Helper()
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
		INSERT INTO items VALUES (1, 'apple', 1.50), (2, 'bread', 2.25), (3, 'cheese', 9.99), (4, 'dates', 0.10)`)
	return testenv.Start(t, db, testenv.Options{Extra: extra, LogLevel: "info"}), db
}
