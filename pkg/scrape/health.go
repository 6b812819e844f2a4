package scrape

// nodeHealth remembers how a node's last scrape ended, so that a node
// that keeps failing for the same reason is logged once, when it starts,
// and again when it fails differently or recovers, instead of at every
// scrape: 1,000 broken nodes would otherwise write 4,000 lines a minute
// at a 15 s resolution. The failures are still counted at every scrape
// (podometer_scrape_failures_total). Only its loop uses it.
type nodeHealth struct {
	// failing is the reason (FailureReason) of the failure in progress;
	// "" while the node scrapes cleanly.
	failing string
}

// record notes a scrape's outcome and tells what to log: logFailure when
// err starts a failure or has another reason than the one in progress,
// recovered when a failing node scraped cleanly.
func (h *nodeHealth) record(err error) (logFailure, recovered bool) {
	if err == nil {
		recovered = h.failing != ""
		h.failing = ""
		return false, recovered
	}
	reason := FailureReason(err)
	logFailure = reason != h.failing
	h.failing = reason
	return logFailure, false
}
