package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"airlock/internal/oidc"

	"golang.org/x/oauth2"
)

// signInTimeout bounds how long `airlock login` waits for the person.
const signInTimeout = 5 * time.Minute

// serverURL returns the server from --server, AIRLOCK_SERVER or the
// saved login, with a scheme.
func (app *App) serverURL() (string, error) {
	server := firstNonEmpty(app.server, app.Getenv("AIRLOCK_SERVER"), app.saved().Server)
	if server == "" {
		return "", fmt.Errorf("no server: pass --server URL or set AIRLOCK_SERVER")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return strings.TrimRight(server, "/"), nil
}

// saveLogin stores server and token where later commands find them.
func (app *App) saveLogin(server, token, user string) error {
	f := loginFile(app.Getenv)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(savedLogin{Server: server, Token: token})
	if err := os.WriteFile(f, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(app.Stderr, "logged in to %s as %s (saved in %s)\n", server, user, f)
	return nil
}

// oidcInfo checks that the server offers identity provider sign-in.
func oidcInfo(c *Client) (*oidc.Info, error) {
	var info oidc.Info
	if err := c.Do("GET", oidc.APIPrefix, nil, nil, &info); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, fmt.Errorf("%s has no identity provider sign-in configured (auth.oidc); log in with --token", c.Base)
		}
		return nil, err
	}
	return &info, nil
}

// loginBrowser runs the authorization code flow with PKCE on a loopback
// redirect: the verifier stays here, the server holds the client secret.
func (app *App) loginBrowser(ctx context.Context, openBrowser bool, port int) error {
	server, err := app.serverURL()
	if err != nil {
		return err
	}
	c := &Client{Base: server}
	info, err := oidcInfo(c)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("listen for the sign-in redirect: %w", err)
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"
	verifier := oauth2.GenerateVerifier()
	var start oidc.StartResponse
	if err := c.Do("POST", oidc.APIPrefix+"/start", nil, oidc.StartRequest{RedirectURI: redirect, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier)}, &start); err != nil {
		return err
	}

	type outcome struct {
		tok oidc.TokenResponse
		err error
	}
	done := make(chan outcome, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var o outcome
		switch {
		case q.Get("state") != start.State:
			http.Error(w, "This is not the sign-in airlock started; go back to the terminal.", http.StatusBadRequest)
			return // keep waiting for the right one
		case q.Get("error") != "":
			o.err = fmt.Errorf("the identity provider did not sign you in: %s %s", q.Get("error"), q.Get("error_description"))
		default:
			o.err = c.Do("POST", oidc.APIPrefix+"/token", nil, oidc.TokenRequest{State: start.State, Code: q.Get("code"), CodeVerifier: verifier}, &o.tok)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if o.err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "<!doctype html><title>airlock</title><p>Not signed in: %s</p>", html.EscapeString(o.err.Error()))
		} else {
			fmt.Fprintf(w, "<!doctype html><title>airlock</title><p>Signed in to airlock as %s. You can close this tab.</p>", html.EscapeString(o.tok.User))
		}
		select {
		case done <- o:
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(app.Stderr, "Sign in with %s: open this URL in a browser if none opened:\n\n  %s\n\n", info.Provider, start.AuthURL)
	if openBrowser {
		if err := exec.Command("xdg-open", start.AuthURL).Start(); err != nil {
			fmt.Fprintf(app.Stderr, "(could not open a browser: %v)\n", err)
		}
	}
	t := time.NewTimer(signInTimeout)
	defer t.Stop()
	select {
	case o := <-done:
		if o.err != nil {
			return o.err
		}
		return app.saveLogin(server, o.tok.Token, o.tok.User)
	case <-t.C:
		return fmt.Errorf("no sign-in within %s; run airlock login again", signInTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loginDevice runs the device authorization flow: the person approves on
// any other device; the server polls the provider, this polls the server.
func (app *App) loginDevice(ctx context.Context) error {
	server, err := app.serverURL()
	if err != nil {
		return err
	}
	c := &Client{Base: server}
	info, err := oidcInfo(c)
	if err != nil {
		return err
	}
	var ds oidc.DeviceStart
	if err := c.Do("POST", oidc.APIPrefix+"/device", nil, nil, &ds); err != nil {
		return err
	}
	fmt.Fprintf(app.Stderr, "Sign in with %s: on any device, open\n\n  %s\n\nand enter the code %s", info.Provider, ds.VerificationURI, ds.UserCode)
	if ds.VerificationURIComplete != "" {
		fmt.Fprintf(app.Stderr, " (or open %s)", ds.VerificationURIComplete)
	}
	fmt.Fprintf(app.Stderr, ".\nWaiting until %s...\n", ds.ExpiresAt.Local().Format("15:04:05"))
	for {
		var tok oidc.TokenResponse
		status, err := c.DoStatus("GET", oidc.APIPrefix+"/device/"+url.PathEscape(ds.ID), nil, nil, &tok)
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			return app.saveLogin(server, tok.Token, tok.User)
		}
		select { // 202: pending; the server already waited a while
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
