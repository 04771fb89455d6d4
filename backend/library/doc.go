// Package library owns the station's apps: the app rows in the store, the
// content-addressed APK cache (<data>/cache/sha256/ab/<hash>.apk) and the
// pre-download of a list's APKs before phones arrive (claim 2).
//
// Blocking: AddFile hashes and copies a whole APK; Fetch and Prefetch block on
// the network. Both take a context and stop, keeping partial downloads as
// .part files, when it is cancelled. Nothing here starts goroutines that
// outlive the call that started them.
package library
