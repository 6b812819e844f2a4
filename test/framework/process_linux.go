package framework

import "syscall"

// sysProcAttr puts a child in its own process group (so a terminal's Ctrl-C
// reaches only the harness, which then stops the children in order) and asks
// the kernel to kill it if the harness dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
