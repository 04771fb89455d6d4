// Package simos is the narrow OS surface (PhoneOS) the phone agent uses, the
// bridge client a process-mode agent dials (Dial, $PRELOAD_SIM_OS) and the
// bridge server the sim runs for it (ServeBridge). Standard library only.
//
// Blocking: every call is one short TCP connection; Run streams stdin and
// stdout until the command exits. Cancellation: Run's context closes its
// connection; ServeBridge returns when its context ends.
package simos
