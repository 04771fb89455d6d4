// Package apktest builds real, signed APKs for tests with Debian's aapt and
// apksigner, so every package that handles APKs (inspection, library, install
// engine, virtual phones) tests against the same bytes a phone would get.
//
// Build blocks while aapt and apksigner run (about 0.3-0.5 s for a new spec;
// a cached spec is a file copy). Results are cached by a hash of the Spec in
// a per-user directory under os.TempDir(), shared by test processes, so a
// spec is built once per machine; the cache is safe for concurrent processes
// (atomic renames). There is no cancellation: builds are short and bounded.
// The signing keys are fixed test keys embedded in keys/ (never use them for
// anything else), so certificate digests are stable across runs.
package apktest
