package oidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"airlock"

	"golang.org/x/oauth2"
)

// device is a device-authorization sign-in in progress: the server polls
// the provider in its own goroutine until the person approves, refuses or
// the code expires, and keeps the outcome until the CLI fetches it.
type device struct {
	expires time.Time
	done    chan struct{}
	res     *Result
	err     error
}

// DeviceStart is what the CLI shows the person.
type DeviceStart struct {
	ID                      string    `json:"id"`
	VerificationURI         string    `json:"verification_uri"`
	VerificationURIComplete string    `json:"verification_uri_complete,omitempty"`
	UserCode                string    `json:"user_code"`
	Interval                int64     `json:"interval"`
	ExpiresAt               time.Time `json:"expires_at"`
}

// StartDevice starts the provider's device authorization and polls it in
// the background. The returned ID is what Device waits on.
func (s *Service) StartDevice(ctx context.Context, clientAddr string) (*DeviceStart, error) {
	p, err := s.providerFor(ctx)
	if err != nil {
		s.fail(ctx, "", clientAddr, err.Error())
		return nil, errProviderDown
	}
	if p.Endpoint().DeviceAuthURL == "" {
		return nil, airlock.Errorf(airlock.EINVALID, "the identity provider does not offer device authorization; sign in with a browser (airlock login --server URL)")
	}
	conf := s.oauth(p, "")
	da, err := conf.DeviceAuth(s.clientCtx(ctx))
	if err != nil {
		s.fail(ctx, "", clientAddr, "device authorization: "+err.Error())
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "the identity provider refused device authorization (%s)", firstNonEmpty(re.ErrorCode, "error"))
		}
		return nil, errProviderDown
	}
	exp := da.Expiry
	if exp.IsZero() || exp.After(s.now().Add(maxDeviceLife)) {
		exp = s.now().Add(maxDeviceLife)
	}
	da.Expiry = exp
	d := &device{expires: exp.Add(time.Minute), done: make(chan struct{})}
	id := randomString()
	s.mu.Lock()
	for k, old := range s.devices { // results nobody fetched
		if !s.now().Before(old.expires) {
			delete(s.devices, k)
		}
	}
	if s.closed || len(s.devices) >= maxDevices {
		s.mu.Unlock()
		return nil, airlock.Errorf(airlock.EUNAVAILABLE, "too many device sign-ins in progress; try again in a few minutes")
	}
	s.devices[id] = d
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer close(d.done)
		pctx, cancel := context.WithDeadline(s.ctx, exp)
		defer cancel()
		tok, err := conf.DeviceAccessToken(s.clientCtx(pctx), da)
		if err != nil {
			d.err = s.deviceError(err, clientAddr)
			return
		}
		d.res, d.err = s.finish(s.ctx, p, tok, "", clientAddr)
	}()
	interval := da.Interval
	if interval <= 0 {
		interval = 5
	}
	return &DeviceStart{ID: id, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		UserCode: da.UserCode, Interval: interval, ExpiresAt: exp.UTC()}, nil
}

func (s *Service) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.client)
}

func (s *Service) deviceError(err error, clientAddr string) error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		s.fail(context.Background(), "", clientAddr, "device authorization denied by the person")
		return airlock.Errorf(airlock.EUNAUTHORIZED, "the sign-in was refused at the identity provider")
	case errors.As(err, &re) && re.ErrorCode == "expired_token", errors.Is(err, context.DeadlineExceeded):
		s.fail(context.Background(), "", clientAddr, "device code expired")
		return airlock.Errorf(airlock.EUNAUTHORIZED, "the device code expired before the sign-in was approved; start again")
	case errors.Is(err, context.Canceled):
		return airlock.Errorf(airlock.EUNAVAILABLE, "airlock is shutting down")
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500:
		s.fail(context.Background(), "", clientAddr, fmt.Sprintf("device token: %s %s", re.ErrorCode, re.ErrorDescription))
		return airlock.Errorf(airlock.EUNAUTHORIZED, "the identity provider refused the sign-in (%s)", firstNonEmpty(re.ErrorCode, "error"))
	}
	s.fail(context.Background(), "", clientAddr, "device token: "+err.Error())
	return errProviderDown
}

// ErrPending means a device sign-in is not approved yet.
var ErrPending = errors.New("the sign-in is not approved yet")

// Device waits up to wait for the device sign-in id to end and returns
// its result once (the id is forgotten afterwards), or ErrPending.
func (s *Service) Device(ctx context.Context, id string, wait time.Duration) (*Result, error) {
	s.mu.Lock()
	d := s.devices[id]
	s.mu.Unlock()
	if d == nil {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "no device sign-in %q in progress (it ended, or its result was already fetched)", id)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
		return nil, ErrPending
	case <-ctx.Done():
		return nil, ErrPending
	}
	s.mu.Lock()
	delete(s.devices, id)
	s.mu.Unlock()
	return d.res, d.err
}
