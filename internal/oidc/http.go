package oidc

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"airlock"
	"airlock/internal/audit"
)

// Paths of the endpoints the CLI uses; none needs a bearer token.
const (
	APIPrefix = "/api/v1/auth/oidc"
)

// Info is GET /api/v1/auth/oidc: what the CLI needs to know first.
type Info struct {
	Provider string `json:"provider"`
	Issuer   string `json:"issuer"`
}

// StartRequest is POST /api/v1/auth/oidc/start.
type StartRequest struct {
	// RedirectURI is the CLI's loopback address (http://127.0.0.1:PORT/...).
	RedirectURI string `json:"redirect_uri"`
	// CodeChallenge is the S256 PKCE challenge of a verifier the CLI keeps.
	CodeChallenge string `json:"code_challenge"`
}

// StartResponse tells the CLI where to send the browser.
type StartResponse struct {
	AuthURL string `json:"auth_url"`
	State   string `json:"state"`
}

// TokenRequest is POST /api/v1/auth/oidc/token.
type TokenRequest struct {
	State        string `json:"state"`
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
}

// TokenResponse is a finished sign-in: an ordinary airlock token.
type TokenResponse struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	User      string     `json:"user"`
	Groups    []string   `json:"groups"`
	Roles     []string   `json:"roles"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// PendingResponse is GET /api/v1/auth/oidc/device/{id} before approval
// (status 202).
type PendingResponse struct {
	Status string `json:"status"` // "pending"
}

// Handler serves the CLI's endpoints under APIPrefix.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Info{Provider: s.Name(), Issuer: s.cfg.Issuer})
	})
	mux.HandleFunc("POST "+APIPrefix+"/start", func(w http.ResponseWriter, r *http.Request) {
		var req StartRequest
		if err := readJSON(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		if !loopback(req.RedirectURI) {
			writeError(w, airlock.Errorf(airlock.EINVALID, "redirect_uri must be an http URL on a loopback address (127.0.0.1, [::1] or localhost)"))
			return
		}
		if len(req.CodeChallenge) < 43 || len(req.CodeChallenge) > 128 {
			writeError(w, airlock.Errorf(airlock.EINVALID, "code_challenge must be the S256 challenge of a PKCE verifier"))
			return
		}
		u, state, err := s.Begin(r.Context(), req.RedirectURI, req.CodeChallenge, "", clientIP(r))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, StartResponse{AuthURL: u, State: state})
	})
	mux.HandleFunc("POST "+APIPrefix+"/token", func(w http.ResponseWriter, r *http.Request) {
		var req TokenRequest
		if err := readJSON(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		if req.CodeVerifier == "" {
			writeError(w, airlock.Errorf(airlock.EINVALID, "code_verifier is missing"))
			return
		}
		res, err := s.Finish(r.Context(), req.State, req.Code, req.CodeVerifier, clientIP(r))
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tokenResponse(res))
	})
	mux.HandleFunc("POST "+APIPrefix+"/device", func(w http.ResponseWriter, r *http.Request) {
		ds, err := s.StartDevice(r.Context(), clientIP(r))
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ds)
	})
	mux.HandleFunc("GET "+APIPrefix+"/device/{id}", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.Device(r.Context(), r.PathValue("id"), 10*time.Second)
		if errors.Is(err, ErrPending) {
			writeJSON(w, http.StatusAccepted, PendingResponse{Status: "pending"})
			return
		}
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tokenResponse(res))
	})
	mux.HandleFunc(APIPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, airlock.Errorf(airlock.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func tokenResponse(res *Result) TokenResponse {
	return TokenResponse{ID: res.Token.ID, Token: res.Secret, User: res.User.Name, Groups: res.User.Groups, Roles: res.User.Roles, ExpiresAt: res.Token.ExpiresAt}
}

func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	if airlock.ErrorCode(err) == airlock.EINTERNAL && !errors.Is(err, audit.ErrUnavailable) {
		s.log.Error("oidc api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, err)
}

// loopback reports whether u is an http URL on a loopback host.
func loopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.User != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// clientIP is the peer's address, for the audit.
func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

var statusOf = map[string]int{
	airlock.EINVALID:      http.StatusBadRequest,
	airlock.EUNAUTHORIZED: http.StatusUnauthorized,
	airlock.EFORBIDDEN:    http.StatusForbidden,
	airlock.ENOTFOUND:     http.StatusNotFound,
	airlock.ECONFLICT:     http.StatusConflict,
	airlock.EUNAVAILABLE:  http.StatusServiceUnavailable,
	airlock.EINTERNAL:     http.StatusInternalServerError,
}

// writeError answers err with the API's error body ({"error": {"code",
// "message"}}) and status.
func writeError(w http.ResponseWriter, err error) {
	code, msg := airlock.ErrorCode(err), airlock.ErrorMessage(err)
	if errors.Is(err, audit.ErrUnavailable) {
		code, msg = airlock.EUNAVAILABLE, "the audit log cannot record events right now; try again shortly"
	}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, statusOf[code], b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return airlock.Errorf(airlock.EINVALID, "invalid JSON body: %v", err)
	}
	return nil
}
