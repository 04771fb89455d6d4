// Package simreal gives the virtual phones the station's real parts: the APK
// reader their package manager uses (backend/apk) and the agent they run when
// a station pushes it (backend/phone). It is a package of its own so that
// backend/sim stays free of both.
package simreal

import (
	"context"
	"io"

	"preloadstation/backend/apk"
	"preloadstation/backend/phone"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simos"
)

// InspectAPK reads an APK for a virtual phone's package manager
// (sim.Options.InspectAPK).
func InspectAPK(r io.ReaderAt, size int64) (sim.APKFacts, error) {
	info, err := apk.InspectReader(r, size)
	if err != nil {
		return sim.APKFacts{}, err
	}
	return sim.APKFacts{Package: info.Package, VersionCode: info.VersionCode, VersionName: info.VersionName,
		MinSDK: info.MinSDK, TargetSDK: info.TargetSDK, ABIs: info.ABIs, SignerSHA256: info.SignerSHA256}, nil
}

// RunAgent runs the real agent code in-process on a virtual phone
// (sim.Options.RunAgentLog).
func RunAgent(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error {
	return phone.MainLog(ctx, osys, args, out)
}
