package npm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestPinned: every client is named with an exact version, the lock file
// agrees with it and names no registry, and what NodeModules installs is
// exactly that.
func TestPinned(t *testing.T) {
	var m struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]map[string]any `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	exact := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	if len(m.Dependencies) == 0 {
		t.Fatal("package.json names no client")
	}
	for name, v := range m.Dependencies {
		if !exact.MatchString(v) {
			t.Errorf("%s: %q is not an exact version", name, v)
		}
		if got := l.Packages["node_modules/"+name]["version"]; got != v {
			t.Errorf("%s: package-lock.json has %v, package.json %s", name, got, v)
		}
	}
	for path, p := range l.Packages {
		if _, ok := p["resolved"]; ok {
			t.Errorf("package-lock.json: %s names a registry address (drop \"resolved\")", path)
		}
		if path != "" && p["integrity"] == nil && p["link"] == nil {
			t.Errorf("package-lock.json: %s has no integrity hash", path)
		}
	}
	dir := NodeModules(t)
	for name, v := range m.Dependencies {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Version string }
		if err := json.Unmarshal(b, &got); err != nil || got.Version != v {
			t.Errorf("installed %s is %q, want %s (%v)", name, got.Version, v, err)
		}
	}
}
