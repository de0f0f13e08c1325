//go:build !linux

package server

// freeDisk is not known on this system: uploads are not refused for disk
// space.
func freeDisk(string) (int64, bool) { return 0, false }
