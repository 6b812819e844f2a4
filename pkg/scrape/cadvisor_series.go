// Which /metrics/cadvisor series of a pod count: cAdvisor writes one for
// the pod's cgroup, one for each container and one for the sandbox, all
// with the pod's namespace and name. Their container label and cgroup id
// tell them apart.

package scrape

import "bytes"

// seriesRole is what a series of a pod stands for.
type seriesRole uint8

const (
	// roleOther is a container's series, or one that is not a pod's.
	roleOther seriesRole = iota
	// rolePod is the pod cgroup's series: container="" and the pod's
	// cgroup as id.
	rolePod
	// roleSandbox is the sandbox's (pause) series: container="" or
	// "POD", and a child of the pod's cgroup as id.
	roleSandbox
)

// seriesRoleOf returns the role of a series of a pod from its container
// label and cgroup id, unescaped.
func seriesRoleOf(container, id []byte) seriesRole {
	last, parent := id, []byte(nil)
	if i := bytes.LastIndexByte(id, '/'); i >= 0 {
		last = id[i+1:]
		parent = id[:i]
		parent = parent[bytes.LastIndexByte(parent, '/')+1:]
	}
	noName := len(container) == 0
	switch {
	case noName && isPodCgroup(last):
		return rolePod
	case (noName || string(container) == "POD") && isPodCgroup(parent):
		return roleSandbox
	}
	return roleOther
}

// isPodCgroup reports whether the cgroup path element is a pod's cgroup:
// pod<uid> with the cgroupfs driver (/kubepods/burstable/pod<uid>,
// /kubepods/pod<uid> for a guaranteed pod), or
// kubepods[-<qos>]-pod<uid with underscores>.slice with the systemd
// driver.
func isPodCgroup(elem []byte) bool {
	if s, ok := bytes.CutSuffix(elem, []byte(".slice")); ok {
		i := bytes.LastIndexByte(s, '-')
		if i < 0 {
			return false
		}
		elem = s[i+1:]
	}
	uid, ok := bytes.CutPrefix(elem, []byte("pod"))
	if !ok || len(uid) == 0 {
		return false
	}
	for _, c := range uid {
		hex := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		if !hex && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
