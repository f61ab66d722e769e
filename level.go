package airlock

import (
	"fmt"
	"strings"
)

// Level is what a statement needs and what a session may do. Levels are
// ordered: LevelNone < LevelRead < LevelWrite < LevelDDL < LevelAdmin.
type Level int8

// The access levels, lowest first.
const (
	LevelNone Level = iota
	LevelRead
	LevelWrite
	LevelDDL
	LevelAdmin
)

var levelNames = [...]string{"none", "read", "write", "ddl", "admin"}

// String returns the level's config and wire name ("read", "write"...).
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses a level name as written in config files and on the
// command line. It is case-insensitive.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	return LevelNone, fmt.Errorf("unknown level %q (want one of none, read, write, ddl, admin)", s)
}

// MarshalText encodes the level as its name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
