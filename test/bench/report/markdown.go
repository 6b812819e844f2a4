package report

import (
	"os"
	"path/filepath"
)

// Write writes dir/BENCHMARKS.md and the plot dir/bench/s1.svg.
func Write(r *Results, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "bench"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(Markdown(r)), 0o644)
}

// Markdown renders the report.
func Markdown(r *Results) string { return "TODO\n" }
