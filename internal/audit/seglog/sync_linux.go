package seglog

import (
	"os"
	"syscall"
)

// datasync makes f's data (and the size that reaches it) durable:
// fdatasync, which skips the metadata a read does not need.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
