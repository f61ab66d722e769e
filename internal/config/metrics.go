package config

import (
	"bytes"
	"fmt"
	"os"
)

// Metrics configures /metrics on the HTTP listener.
type Metrics struct {
	// Disable turns /metrics off.
	Disable bool `yaml:"disable"`
	// BearerTokenFile, when set, names a file (relative to the config)
	// holding the secret a scraper must send as "Authorization: Bearer
	// <secret>"; without it /metrics is open to anyone who reaches the
	// HTTP listener, like /healthz.
	BearerTokenFile string `yaml:"bearer_token_file"`
}

// MetricsToken reads metrics.bearer_token_file ("" when not set). The file
// holds the secret as text (trailing newline ignored), at least 16 bytes.
func (c *Config) MetricsToken() (string, error) {
	if c.Metrics.BearerTokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.Rel(c.Metrics.BearerTokenFile))
	if err != nil {
		return "", fmt.Errorf("metrics.bearer_token_file: %w", err)
	}
	tok := bytes.TrimRight(b, "\r\n")
	if len(tok) < 16 {
		return "", fmt.Errorf("metrics.bearer_token_file: the token must be at least 16 bytes")
	}
	return string(tok), nil
}
