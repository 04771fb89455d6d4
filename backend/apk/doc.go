// Package apk reads what the station needs from an APK without the Android
// SDK: the binary manifest (package, versions, SDK levels, label through
// resources.arsc in every locale, icon), native ABIs, split and bundle
// detection, signer certificate digests (v1 JAR and the v2/v3 signing block),
// SHA-256 and size.
//
// It treats every file as hostile: archives are checked for zip bombs,
// overlapping entries, path traversal names and truncation before anything
// is decompressed, and every read is bounded. Inspect blocks on file I/O only
// (one pass to hash the file plus a few small reads); it takes no context
// because it is bounded by the file size and the limits in Limits.
package apk
