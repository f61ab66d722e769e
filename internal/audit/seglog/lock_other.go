//go:build !unix

package seglog

import "os"

// lockDir opens the lock file; without flock the lock is advisory only.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
